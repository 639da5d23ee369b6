import { defineConfig } from "vitest/config";

// Every test file runs against the embedded database; when DATABASE_URL is set it runs
// again against that PostgreSQL server (each file in a schema of its own).
const databases = ["embedded", ...(process.env.DATABASE_URL ? ["postgres"] : [])];

export default defineConfig({
  // Node loads graphql's CommonJS build for Pothos and yoga; Vite would pick the .mjs build
  // for our own files, and graphql refuses to mix two copies of itself.
  resolve: { alias: { graphql: "graphql/index.js" } },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: databases.map((database) => ({
      extends: true,
      test: { name: database, include: ["test/**/*.test.ts"], env: { TEST_DATABASE: database } },
    })),
  },
});
