// A committed change is delivered even when the process dies mid-delivery: the real service
// (src/main.ts, as `npm start` runs it) on a database that outlives it (a data directory
// of its own, or a schema of its own on PostgreSQL), SIGKILLed while its webhook request is
// in flight, then started again on the same database. The event arrives again, with the same
// webhook id, once pg-boss expires the orphaned attempt.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, test } from "vitest";
import { eventually, isolatedDatabaseConfig, TEST_WEBHOOK_KEY, usingPostgres, waitUntil } from "./harness.js";
import { startReceiver, type Receiver } from "./webhook-receiver.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const started: ChildProcessWithoutNullStreams[] = [];
let receiver: Receiver;
let dataDir: string | undefined;
const database = isolatedDatabaseConfig();

beforeAll(async () => {
  receiver = await startReceiver();
  if (!usingPostgres) dataDir = await mkdtemp(path.join(tmpdir(), "webhooks-kill-"));
});
afterAll(async () => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await receiver?.close();
  await database.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** Starts the service; resolves with its GraphQL URL and all it printed so far. */
async function startService() {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: "0",
    HOST: "127.0.0.1",
    WEBHOOK_ALLOW_PRIVATE: "true",
    WEBHOOK_SECRET_KEY: TEST_WEBHOOK_KEY,
    // An attempt of at most 1 s expires 11 s after it started; maintenance looks every second.
    WEBHOOK_TIMEOUT_MS: "1000",
    WEBHOOK_MAINTENANCE_SECONDS: "1",
    WEBHOOK_POLL_MS: "500",
  };
  delete env.REDIS_URL;
  if (usingPostgres) env.DATABASE_URL = database.config.databaseUrl;
  else {
    delete env.DATABASE_URL;
    env.DATA_DIR = dataDir;
  }
  // node itself with tsx's loader, not the tsx command: that one runs node as a child of its
  // own, which a SIGKILL of the parent would leave running.
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], { cwd: ROOT, env });
  started.push(child);
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => void (output += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => void (output += chunk));
  await waitUntil(
    () => /GraphQL API on (http:\/\/127\.0\.0\.1:\d+\/graphql) /.test(output) || child.exitCode !== null,
    () => `the service to start; it printed:\n${output}`,
    90_000,
  );
  const url = /GraphQL API on (http:\/\/127\.0\.0\.1:\d+\/graphql) /.exec(output)?.[1];
  if (!url) throw new Error(`the service exited with ${child.exitCode}:\n${output}`);
  return { child, url, output: () => output };
}

async function gql(url: string, token: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: any; errors?: unknown };
  expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
  return body.data;
}

test("SIGKILL while a delivery is in flight: after a restart the same delivery arrives again and is logged DELIVERED", async () => {
  const first = await startService();
  const demoToken = /^ {2}(convo_[0-9a-f]+)$/m;
  await waitUntil(() => demoToken.test(first.output()), () => `the demo token; the service printed:\n${first.output()}`, 10_000);
  const token = demoToken.exec(first.output())?.[1];

  const registered = await gql(
    first.url,
    token!,
    `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } } }`,
    { input: { dialect: "VELERIA", url: `${receiver.url}/killed`, events: ["contact.created"] } },
  );
  // The first request kills the service while it waits for the answer (the attempt is in
  // flight, nothing about it is logged yet); later requests succeed.
  const killed = once(first.child, "exit");
  receiver.answer((_request, index) => {
    if (index > 0) return 200;
    first.child.kill("SIGKILL");
    return "hang";
  });
  await gql(first.url, token!, `mutation { createContact(input: { firstName: "Durable", email: "durable@example.com" }) { id } }`);
  await killed;

  const second = await startService();
  await waitUntil(() => receiver.received.length >= 2, () => `the delivery again after the restart; the service printed:\n${second.output()}`, 60_000);
  const [lost, again] = receiver.received;
  expect(again!.headers["webhook-id"]).toBe(lost!.headers["webhook-id"]);
  expect(again!.body).toBe(lost!.body);
  expect(again!.json).toMatchObject({ event: "contact.created", data: { first_name: "Durable" } });

  const endpointId = registered.createWebhookEndpoint.endpoint.id;
  const query = `query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { deliveries(first: 5) { edges { node { status attempts { number statusCode } } } } } } }`;
  // The receiver has answered; the log is written right after, so poll it.
  const delivery = await eventually(
    async () => (await gql(second.url, token!, query, { id: endpointId })).node.deliveries.edges[0]?.node,
    (node) => node?.status === "DELIVERED",
    "the delivery logged DELIVERED",
    30_000,
  );
  expect(delivery).toMatchObject({ status: "DELIVERED", attempts: [{ number: 1, statusCode: 200 }] });
  expect(receiver.received).toHaveLength(2);

  second.child.kill("SIGTERM");
  await once(second.child, "exit");
}, 180_000);
