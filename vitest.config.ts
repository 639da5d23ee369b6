import { defineConfig } from "vitest/config";

// Every test file runs against the embedded database; when DATABASE_URL is set it runs
// again against that PostgreSQL server (each file in a schema of its own).
const databases = ["embedded", ...(process.env.DATABASE_URL ? ["postgres"] : [])];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: databases.map((database) => ({
      extends: true,
      test: { name: database, include: ["test/**/*.test.ts"], env: { TEST_DATABASE: database } },
    })),
  },
});
