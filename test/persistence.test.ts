// Data survives a restart, and a restart applies no migration twice: on the embedded
// database in a directory of its own, and on PostgreSQL in a schema of its own. Then the
// admin CLI, run the way a user runs it.
import { spawn } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, test, type ExpectStatic } from "vitest";
import { authenticate, issueToken } from "../src/auth/viewer.js";
import { DATA_SCOPES } from "../src/auth/scopes.js";
import { hashToken } from "../src/auth/tokens.js";
import { loadConfig } from "../src/config.js";
import { openDatabase, type Database } from "../src/db/client.js";
import { createApp } from "../src/http/server.js";
import { isolatedDatabaseConfig, TEST_WEBHOOK_KEY, usingPostgres, type GraphQLResponse } from "./harness.js";

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const migrationsDir = path.join(projectRoot, "prisma", "migrations");

async function migrationFolders(): Promise<string[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
}

/** A server on an open database, and a way to talk to it. */
async function serve(db: Database) {
  const app = createApp(db, loadConfig({ WEBHOOK_SECRET_KEY: TEST_WEBHOOK_KEY }));
  const port = await app.listen(0, "127.0.0.1");
  const url = `http://127.0.0.1:${port}/graphql`;
  return {
    close: () => app.close(),
    async gql(query: string, variables: Record<string, unknown>, token: string): Promise<GraphQLResponse> {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
      return { ...((await response.json()) as GraphQLResponse), status: response.status };
    },
  };
}

const EVERYTHING = `{
  viewer { tenant { name slug } }
  contacts { totalCount edges { node { id firstName email tags customFields bookings { edges { node { id service startsAt } } } } } }
  conversations { totalCount edges { node { id status customerIdentifier contact { id } tags { id name color }
    messages { totalCount edges { node { id role content createdAt } } } } } }
  leads { totalCount edges { node { id status score fields conversation { id } } } }
  tags { totalCount edges { node { id name } } }
}`;

async function ok(expect: ExpectStatic, result: Promise<GraphQLResponse>) {
  const r = await result;
  expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
  return r.data!;
}

/** Writes one of everything over HTTP; returns the agent's integer number. */
async function writeEverything(expect: ExpectStatic, gql: (q: string, v?: Record<string, unknown>) => Promise<GraphQLResponse>) {
  const run = (query: string, variables: Record<string, unknown> = {}) => ok(expect, gql(query, variables));
  const agent = await run(`mutation { createAgent(input: { name: "Sales agent", status: PUBLISHED }) { number } }`);
  const contact = await run(
    `mutation { createContact(input: { firstName: "Ada", email: "ada@example.com", tags: ["vip"], customFields: { plan: "gold" } }) { id } }`,
  );
  const c = contact.createContact.id;
  const conversation = await run(
    `mutation($c: ID!) { createConversation(input: { channelType: WHATSAPP, customerIdentifier: "+48111222333", contactId: $c }) { id } }`,
    { c },
  );
  const v = conversation.createConversation.id;
  await run(`mutation($v: ID!) { addMessage(input: { conversationId: $v, role: USER, content: "Hi" }) { id } }`, { v });
  await run(`mutation($v: ID!) { sendOperatorMessage(conversationId: $v, content: "Hello!") { id } }`, { v });
  const tag = await run(`mutation { createTag(name: "booking", color: "#3366ff") { id } }`);
  await run(`mutation($v: ID!, $t: ID!) { bulkUpdateConversations(input: { ids: [$v], action: TAG, tagIds: [$t] }) { updated } }`, {
    v,
    t: tag.createTag.id,
  });
  await run(
    `mutation($c: ID!, $v: ID!) { createLead(input: { contactId: $c, conversationId: $v, score: 80, status: QUALIFIED, fields: { name: "Ada" } }) { id } }`,
    { c, v },
  );
  await run(
    `mutation($c: ID!) { createBooking(input: { contactId: $c, service: "Training", startsAt: "2030-01-01T10:00:00Z", endsAt: "2030-01-01T11:00:00Z" }) { id } }`,
    { c },
  );
  return agent.createAgent.number as number;
}

/** Opens, writes over HTTP, closes, opens again on the same storage and reads it all back. */
async function restartScenario(expect: ExpectStatic, config: { databaseUrl: string | undefined; dataDir: string }) {
  const folders = await migrationFolders();
  expect(folders.length).toBeGreaterThan(0);

  // ----- first life -----
  let token: string;
  let agentNumber: number;
  let before: Record<string, any>;
  const first = await openDatabase(config);
  try {
    expect(first.appliedMigrations).toEqual(folders);
    const tenant = await first.prisma.tenant.create({ data: { name: "Durable", slug: "durable" } });
    token = (await issueToken(first.prisma, { tenantId: tenant.id, name: "admin", format: "CONVO", scopes: [...DATA_SCOPES, "admin"] }))
      .secret;
    const server = await serve(first);
    try {
      agentNumber = await writeEverything(expect, (q, v = {}) => server.gql(q, v, token));
      before = await ok(expect, server.gql(EVERYTHING, {}, token));
    } finally {
      await server.close();
    }
  } finally {
    await first.close();
  }
  expect(before.contacts.totalCount).toBe(1);
  expect(before.conversations.edges[0].node.messages.totalCount).toBe(2);
  expect(before.conversations.edges[0].node.tags).toHaveLength(1);
  expect(before.leads.totalCount).toBe(1);
  expect(before.contacts.edges[0].node.bookings.edges).toHaveLength(1);

  // ----- second life, same storage -----
  const second = await openDatabase(config);
  try {
    expect(second.appliedMigrations).toEqual([]);
    const server = await serve(second);
    try {
      // The same token still works and everything reads back exactly as it was written.
      expect(await ok(expect, server.gql(EVERYTHING, {}, token))).toEqual(before);
      // Still writable, and the integer ids carry on rather than restart.
      const more = await ok(expect, server.gql(`mutation { createAgent(input: { name: "Second agent" }) { number } }`, {}, token));
      expect(more.createAgent.number).toBeGreaterThan(agentNumber);
      expect((await ok(expect, server.gql(`{ agents { totalCount } }`, {}, token))).agents.totalCount).toBe(2);
    } finally {
      await server.close();
    }

    const rows = await second.prisma.$queryRaw<
      { migration_name: string; checksum: string; finished_at: Date | null; rolled_back_at: Date | null; applied_steps_count: number }[]
    >`SELECT migration_name, checksum, finished_at, rolled_back_at, applied_steps_count FROM _prisma_migrations ORDER BY migration_name`;
    expect(rows.map((r) => r.migration_name)).toEqual(folders);
    for (const row of rows) {
      const sql = await readFile(path.join(migrationsDir, row.migration_name, "migration.sql"), "utf8");
      expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(row.checksum).toBe(createHash("sha256").update(sql).digest("hex"));
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.rolled_back_at).toBeNull();
      expect(Number(row.applied_steps_count)).toBe(1);
    }
  } finally {
    await second.close();
  }
}

describe.concurrent("restart", () => {
  test.skipIf(usingPostgres)("embedded: data in a data directory survives a restart, migrations are applied once", async ({ expect }) => {
    const dir = await mkdtemp(path.join(tmpdir(), "engagement-graph-"));
    try {
      await restartScenario(expect, { databaseUrl: undefined, dataDir: dir });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test.runIf(usingPostgres)("postgres: data in a schema survives a restart, migrations are applied once", async ({ expect }) => {
    const { config, drop } = isolatedDatabaseConfig();
    try {
      await restartScenario(expect, config);
    } finally {
      await drop();
    }
  });

  // -------------------------------------------------------------------------------------
  // The admin CLI, spawned as `npx tsx src/cli/main.ts`, on a data directory of its own.
  // -------------------------------------------------------------------------------------

  /** A command that finished its work but did not exit this long after its last output is hung. */
  const EXIT_GRACE_MS = 2_500;

  interface CliRun {
    args: string[];
    code: number | null;
    stdout: string;
    stderr: string;
    /** Kept running after its last output (and was stopped by this test). */
    lingered: boolean;
    ms: number;
  }

  function cli(args: string[], dataDir: string): Promise<CliRun> {
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir };
    delete env.DATABASE_URL;
    return new Promise((resolve, reject) => {
      // Its own process group, so a hung command can be stopped with everything it started.
      const child = spawn("npx", ["tsx", "src/cli/main.ts", ...args], { cwd: projectRoot, env, detached: true });
      let stdout = "";
      let stderr = "";
      let lastOutput = Date.now();
      let lingered = false;
      const started = Date.now();
      child.stdout.on("data", (chunk) => {
        stdout += chunk;
        lastOutput = Date.now();
      });
      child.stderr.on("data", (chunk) => {
        stderr += chunk;
        lastOutput = Date.now();
      });
      const watchdog = setInterval(() => {
        if (stdout !== "" && Date.now() - lastOutput > EXIT_GRACE_MS) {
          lingered = true;
          clearInterval(watchdog);
          if (child.pid) process.kill(-child.pid, "SIGTERM");
        }
      }, 200);
      child.on("error", (error) => {
        clearInterval(watchdog);
        reject(error);
      });
      child.on("close", (code) => {
        clearInterval(watchdog);
        resolve({ args, code, stdout, stderr, lingered, ms: Date.now() - started });
      });
    });
  }

  function expectExitedCleanly(expect: ExpectStatic, run: CliRun) {
    console.log(`${run.args[0]}: ${run.ms} ms${run.lingered ? " (stopped: had not exited after its output)" : ""}`);
    expect.soft(run.lingered, `"${run.args[0]}" printed its result but had not exited ${EXIT_GRACE_MS} ms later`).toBe(false);
    if (!run.lingered) expect(run.code, `${run.args.join(" ")}\n${run.stderr}`).toBe(0);
  }

  test.skipIf(usingPostgres)(
    "the CLI creates a tenant and a Vorel token, lists it without its secret, revokes it",
    async ({ expect }) => {
      const dir = await mkdtemp(path.join(tmpdir(), "engagement-graph-cli-"));
      try {
        const [help, created] = await Promise.all([cli(["--help"], dir), cli(["tenants:create", "--name", "CLI Co", "--slug", "cli-co"], dir)]);

        expect(help.code).toBe(0);
        for (const command of ["tenants:create", "tokens:create", "tokens:list", "tokens:revoke", "migrate", "--format", "--scopes"]) {
          expect(help.stdout).toContain(command);
        }

        expectExitedCleanly(expect, created);
        expect(created.stdout).toMatch(/^Created tenant cli-co \([0-9a-f-]{36}\)\n$/);

        const token = await cli(
          ["tokens:create", "--tenant", "cli-co", "--name", "CRM sync", "--format", "vorel", "--scopes", "read,leads:write"],
          dir,
        );
        expectExitedCleanly(expect, token);
        // stdout is the token and nothing else, so TOKEN=$(... tokens:create ...) works.
        expect(token.stdout).toMatch(/^vapk_live_[0-9a-f]{48}\n$/);
        const secret = token.stdout.trim();
        expect(token.stderr).not.toContain(secret);

        const listed = await cli(["tokens:list", "--tenant", "cli-co"], dir);
        expectExitedCleanly(expect, listed);
        expect(listed.stdout).not.toContain(secret);
        expect(listed.stdout).not.toContain(secret.slice(10));
        const lines = listed.stdout.trim().split("\n");
        expect(lines).toHaveLength(1);
        const [id, prefix, format, state, name, scopes] = lines[0]!.split("\t");
        expect(id).toMatch(/^[0-9a-f-]{36}$/);
        expect(secret.startsWith(prefix!.replace("…", ""))).toBe(true);
        expect(format).toBe("VOREL");
        expect(state).toBe("active");
        expect(name).toBe("CRM sync");
        // Vorel's "read" is every canonical read scope but webhooks:read; leads:write is itself.
        expect(scopes!.split(",").sort()).toEqual(
          [...DATA_SCOPES.filter((s) => s.endsWith(":read") && s !== "webhooks:read"), "leads:write"].sort(),
        );

        // Ids as the API writes them (agt_…) or bare; anything else is a usage error, not a stack trace.
        const [malformed, unknownAgent] = await Promise.all([
          cli(["tokens:revoke", "--tenant", "cli-co", "--id", "not-a-token-id"], dir),
          cli(["tokens:create", "--tenant", "cli-co", "--name", "Agent", "--format", "velents_agent", "--agent", `agt_${randomUUID()}`, "--scopes", "dispatch"], dir),
        ]);
        expect(malformed.code).toBe(2);
        expect(malformed.stderr).toContain("--id is a token's uuid or tok_ id");
        expect(unknownAgent.code).toBe(2);
        expect(unknownAgent.stderr).toContain("No such agent in this tenant");

        const revoked = await cli(["tokens:revoke", "--tenant", "cli-co", "--id", `tok_${id}`], dir);
        expectExitedCleanly(expect, revoked);
        expect(revoked.stdout).toContain(`Revoked token ${id}`);

        // The CLI's data directory, opened the way the server opens it.
        const db = await openDatabase({ databaseUrl: undefined, dataDir: dir });
        try {
          expect(db.appliedMigrations).toEqual([]);
          const row = await db.prisma.apiToken.findUniqueOrThrow({ where: { secretHash: hashToken(secret) }, include: { tenant: true } });
          expect(row.id).toBe(id);
          expect(row.tenant.slug).toBe("cli-co");
          expect(row.format).toBe("VOREL");
          expect(row.revokedAt).toBeInstanceOf(Date);
          expect(await authenticate(db.prisma, secret)).toBeUndefined();
          // While a process has the directory open, the CLI refuses it rather than write beside it.
          const refused = await cli(["tokens:list", "--tenant", "cli-co"], dir);
          expect(refused.code, refused.stderr).not.toBe(0);
          expect(refused.stderr).toContain(`is in use by process ${process.pid}`);
          expect(refused.stderr, "a message, not a stack trace").not.toContain("    at ");
        } finally {
          await db.close();
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );
});
