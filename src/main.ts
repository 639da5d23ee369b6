// `npm start`: open (and migrate) the database, seed a demo tenant on first run, serve.
import { loadConfig } from "./config.js";
import { DataDirInUseError, openDatabase } from "./db/client.js";
import { seedDemoTenant } from "./db/demo.js";
import { createApp } from "./http/server.js";

// pg-boss completes and fails jobs without awaiting the promise (node_modules/pg-boss/src/
// manager.js): a database blip at that moment would otherwise end the process. The job is
// retried once it expires; the service goes on.
process.on("unhandledRejection", (reason) => console.error("unhandled rejection:", reason));

const config = loadConfig();
const db = await openDatabase(config).catch((error: unknown) => {
  if (!(error instanceof DataDirInUseError)) throw error;
  console.error(error.message);
  process.exit(1);
});
if (db.appliedMigrations.length > 0) console.log(`Applied migrations: ${db.appliedMigrations.join(", ")}`);

const demoToken = await seedDemoTenant(db.prisma);
const app = createApp(db, config);
const port = await app.listen();
const where = db.kind === "embedded" ? `embedded database in ${config.dataDir}` : "PostgreSQL";
console.log(`GraphQL API on http://${config.host === "0.0.0.0" ? "localhost" : config.host}:${port}/graphql (${where})`);
if (demoToken) {
  console.log(
    [
      "",
      "Created the demo tenant. Its admin token, shown this once only (store it now):",
      "",
      `  ${demoToken}`,
      "",
      `Open GraphiQL at the URL above and send the header {"Authorization": "Bearer ${demoToken}"}.`,
      "",
    ].join("\n"),
  );
}

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: finishing in-flight requests, then stopping`);
  await app.close();
  await db.close();
  process.exit(0);
}
process.on("SIGTERM", () => void stop("SIGTERM"));
process.on("SIGINT", () => void stop("SIGINT"));
