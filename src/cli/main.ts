// The admin CLI: `npm run cli -- <command> [options]`. Run `npm run cli -- --help`.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { GraphQLError } from "graphql";
import { toCanonicalScopes, UnknownScopeError } from "../auth/scopes.js";
import { issueToken, tokenState } from "../auth/viewer.js";
import { TOKEN_FORMATS } from "../auth/tokens.js";
import { loadConfig } from "../config.js";
import { DataDirInUseError, openDatabase, type Database } from "../db/client.js";
import { createMigration, migrationsDir } from "../db/migrations.js";
import type { Plan, TokenFormat } from "../generated/prisma/enums.js";
import { uuidOf } from "../graphql/ids.js";
import { createEndpoint, deleteEndpoint, isRegisteredDialect, publicUrl, REGISTERED_DIALECTS, rotateSecret, updateEndpoint } from "../webhooks/endpoints.js";
import { loadSecretBox } from "../webhooks/secrets.js";

const HELP = `Usage: npm run cli -- <command> [options]

Tenants
  tenants:create --name <name> [--slug <slug>] [--plan STARTER|PRO|BUSINESS]
  tenants:list

API tokens (the token is printed once; only its hash is stored)
  tokens:create  --tenant <slug> --name <name> --format <format> --scopes <list>
                 [--expires <ISO date-time>] [--agent <agent uuid or agt_ id>]
      <format>  veleria | convo | vorel | velents_support | velents_agent
      <list>    comma-separated canonical scopes (contacts:read, leads:write, admin, ...),
                the format's own names (Vorel: read, appointments:write, ...), or "all"
  tokens:list    --tenant <slug>
  tokens:revoke  --tenant <slug> --id <token uuid or tok_ id>

Webhook endpoints (the signing secret is printed once; it is stored encrypted)
  webhooks:create  --tenant <slug> --dialect <dialect> --url <https url> --events <list>
                   [--description <text>]
      <dialect> veleria | convo | vorel
      <list>    comma-separated event names of the dialect (convo: lead.created, ...)
  webhooks:list    --tenant <slug>
  webhooks:rotate  --id <endpoint uuid or whe_ id>     a new secret, printed once
  webhooks:disable --id <endpoint uuid or whe_ id>
  webhooks:enable  --id <endpoint uuid or whe_ id>     clears its failure count too
  webhooks:delete  --id <endpoint uuid or whe_ id>     with its deliveries

Database (DATABASE_URL for PostgreSQL, otherwise the embedded database in DATA_DIR)
  migrate                 apply pending migrations (npm start does this too)
  migrate:new <name>      write prisma/migrations/<timestamp>_<name> from prisma/schema.prisma

Schema
  schema:print            write the GraphQL SDL to schema/schema.graphql

The embedded database is a single-process store: stop the server before running
commands against the same DATA_DIR.`;

const FORMATS: Record<string, TokenFormat> = Object.fromEntries(
  Object.keys(TOKEN_FORMATS).map((format) => [format.toLowerCase(), format as TokenFormat]),
);

class UsageError extends Error {}

function required(values: Record<string, string | boolean | undefined>, name: string): string {
  const value = values[name];
  if (typeof value !== "string" || value === "") throw new UsageError(`--${name} is required`);
  return value;
}

async function withDatabase<T>(work: (db: Database) => Promise<T>): Promise<T> {
  const db = await openDatabase(loadConfig());
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

async function tenantBySlug(db: Database, slug: string) {
  const tenant = await db.prisma.tenant.findUnique({ where: { slug } });
  if (!tenant) throw new UsageError(`No tenant with slug "${slug}"`);
  return tenant;
}

/** The uuid --id names (checked before the database is opened). */
function endpointIdOf(values: Record<string, string | boolean | undefined>): string {
  const id = uuidOf("WebhookEndpoint", required(values, "id"));
  if (!id) throw new UsageError("--id is a webhook endpoint's uuid or whe_ id");
  return id;
}

/** The endpoint with this id, in whichever tenant it is (the CLI is the operator's). */
async function endpointById(db: Database, id: string) {
  const endpoint = await db.prisma.webhookEndpoint.findUnique({ where: { id }, select: { id: true, tenantId: true } });
  if (!endpoint) throw new UsageError("No such webhook endpoint");
  return endpoint;
}

/** A refusal of the webhook rules (src/webhooks/endpoints.ts) in the CLI's words: --url rather than input.url. */
function usageErrorOf(error: GraphQLError): UsageError {
  const field = typeof error.extensions.field === "string" ? error.extensions.field : undefined;
  if (error.extensions.code === "NOT_FOUND") return new UsageError("No such webhook endpoint");
  const flag = field?.startsWith("input.") ? `--${field.slice("input.".length)}` : undefined;
  const message = field && error.message.startsWith(`${field}: `) ? error.message.slice(field.length + 2) : error.message;
  return new UsageError(flag ? `${flag}: ${message}` : message);
}

function printSecret(secret: string) {
  console.error("The signing secret is shown this once only: store it now (receivers verify deliveries with it):");
  console.log(secret);
}

async function run(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      help: { type: "boolean", short: "h" },
      name: { type: "string" },
      slug: { type: "string" },
      plan: { type: "string" },
      tenant: { type: "string" },
      format: { type: "string" },
      scopes: { type: "string" },
      expires: { type: "string" },
      agent: { type: "string" },
      id: { type: "string" },
      dialect: { type: "string" },
      url: { type: "string" },
      events: { type: "string" },
      description: { type: "string" },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    console.log(HELP);
    return;
  }

  switch (command) {
    case "tenants:create": {
      const name = required(values, "name");
      const slug = values.slug ?? name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
      const plan = (values.plan ?? "STARTER").toUpperCase();
      if (!["STARTER", "PRO", "BUSINESS"].includes(plan)) throw new UsageError("--plan is STARTER, PRO or BUSINESS");
      if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(slug)) throw new UsageError("--slug is lowercase letters, digits and dashes");
      await withDatabase(async (db) => {
        if (await db.prisma.tenant.findUnique({ where: { slug } })) throw new UsageError(`Slug "${slug}" is taken`);
        const tenant = await db.prisma.tenant.create({ data: { name, slug, plan: plan as Plan } });
        console.log(`Created tenant ${tenant.slug} (${tenant.id})`);
      });
      return;
    }
    case "tenants:list":
      await withDatabase(async (db) => {
        for (const t of await db.prisma.tenant.findMany({ orderBy: { createdAt: "asc" } })) {
          console.log(`${t.slug}\t${t.plan}\t${t.id}\t${t.name}`);
        }
      });
      return;
    case "tokens:create": {
      const format = FORMATS[required(values, "format").toLowerCase()];
      if (!format) throw new UsageError(`--format is one of ${Object.keys(FORMATS).join(", ")}`);
      const scopes = toCanonicalScopes(format, required(values, "scopes").split(","));
      if (scopes.length === 0) throw new UsageError("--scopes names no scope");
      const expiresAt = values.expires ? new Date(values.expires) : null;
      if (expiresAt && (Number.isNaN(expiresAt.getTime()) || expiresAt <= new Date())) {
        throw new UsageError("--expires must be a future ISO date-time");
      }
      if (format === "VELENTS_AGENT" && !values.agent) throw new UsageError("velents_agent tokens need --agent");
      const agentId = values.agent === undefined ? undefined : uuidOf("Agent", values.agent);
      if (values.agent !== undefined && !agentId) throw new UsageError("--agent is an agent's uuid or agt_ id");
      await withDatabase(async (db) => {
        const tenant = await tenantBySlug(db, required(values, "tenant"));
        if (agentId && !(await db.prisma.agent.findFirst({ where: { id: agentId, tenantId: tenant.id } }))) {
          throw new UsageError("No such agent in this tenant");
        }
        const { token, secret } = await issueToken(db.prisma, {
          tenantId: tenant.id,
          name: required(values, "name"),
          format,
          scopes,
          expiresAt,
          agentId: agentId ?? null,
        });
        console.error(`Created token ${token.id} (${format}) with scopes: ${scopes.join(" ")}`);
        console.error("The token is shown this once only:");
        console.log(secret);
      });
      return;
    }
    case "tokens:list":
      await withDatabase(async (db) => {
        const tenant = await tenantBySlug(db, required(values, "tenant"));
        const tokens = await db.prisma.apiToken.findMany({ where: { tenantId: tenant.id }, orderBy: { createdAt: "asc" } });
        for (const t of tokens) {
          console.log(`${t.id}\t${t.displayPrefix}\t${t.format}\t${tokenState(t)}\t${t.name}\t${t.scopes.join(",")}`);
        }
      });
      return;
    case "tokens:revoke": {
      const id = uuidOf("ApiToken", required(values, "id"));
      if (!id) throw new UsageError("--id is a token's uuid or tok_ id");
      await withDatabase(async (db) => {
        const tenant = await tenantBySlug(db, required(values, "tenant"));
        const token = await db.prisma.apiToken.findFirst({ where: { id, tenantId: tenant.id } });
        if (!token) throw new UsageError("No such token in this tenant");
        if (!token.revokedAt) await db.prisma.apiToken.update({ where: { id }, data: { revokedAt: new Date() } });
        console.log(`Revoked token ${id}`);
      });
      return;
    }
    case "webhooks:create": {
      const dialect = required(values, "dialect").toUpperCase();
      if (!isRegisteredDialect(dialect)) throw new UsageError(`--dialect is one of ${REGISTERED_DIALECTS.map((each) => each.toLowerCase()).join(", ")}`);
      const url = required(values, "url");
      const events = required(values, "events").split(",").map((event) => event.trim()).filter((event) => event !== "");
      const config = loadConfig();
      await withDatabase(async (db) => {
        const tenant = await tenantBySlug(db, required(values, "tenant"));
        const box = await loadSecretBox(config.webhooks, db);
        const { endpoint, signingSecret } = await createEndpoint(db.prisma, box, config.webhooks.allowPrivate, {
          tenantId: tenant.id,
          dialect,
          url,
          events,
          description: values.description,
        });
        console.error(`Created webhook endpoint ${endpoint.id} (${endpoint.dialect}) for: ${endpoint.events.join(" ")}`);
        printSecret(signingSecret);
      });
      return;
    }
    case "webhooks:list":
      await withDatabase(async (db) => {
        const tenant = await tenantBySlug(db, required(values, "tenant"));
        const endpoints = await db.prisma.webhookEndpoint.findMany({ where: { tenantId: tenant.id }, orderBy: { createdAt: "asc" } });
        for (const e of endpoints) {
          const secret = e.secretPrefix ? `${e.secretPrefix}…` : "-";
          const state = e.status === "ACTIVE" ? "active" : `disabled (${e.disabledReason ?? "no reason"})`;
          console.log(`${e.id}\t${e.dialect}\t${state}\t${secret}\t${publicUrl(e)}\t${e.events.join(",")}\t${e.description ?? ""}`);
        }
      });
      return;
    case "webhooks:rotate": {
      const config = loadConfig();
      const endpointId = endpointIdOf(values);
      await withDatabase(async (db) => {
        const { id, tenantId } = await endpointById(db, endpointId);
        const box = await loadSecretBox(config.webhooks, db);
        const { endpoint, signingSecret } = await rotateSecret(db.prisma, box, tenantId, id);
        console.error(`Rotated the signing secret of webhook endpoint ${endpoint.id}: the old one no longer signs`);
        printSecret(signingSecret);
      });
      return;
    }
    case "webhooks:disable":
    case "webhooks:enable": {
      const enabled = command === "webhooks:enable";
      const config = loadConfig();
      const endpointId = endpointIdOf(values);
      await withDatabase(async (db) => {
        const { id, tenantId } = await endpointById(db, endpointId);
        await updateEndpoint(db.prisma, config.webhooks.allowPrivate, tenantId, id, { enabled });
        console.log(`${enabled ? "Enabled" : "Disabled"} webhook endpoint ${id}`);
      });
      return;
    }
    case "webhooks:delete": {
      const endpointId = endpointIdOf(values);
      await withDatabase(async (db) => {
        const { id, tenantId } = await endpointById(db, endpointId);
        await deleteEndpoint(db.prisma, tenantId, id);
        console.log(`Deleted webhook endpoint ${id}`);
      });
      return;
    }
    case "migrate":
      await withDatabase(async (db) => {
        console.log(db.appliedMigrations.length ? `Applied: ${db.appliedMigrations.join(", ")}` : "Database is up to date");
      });
      return;
    case "migrate:new": {
      const name = rest[0] ?? values.name;
      if (!name) throw new UsageError("migrate:new needs a name, e.g. npm run migrate:new -- add_booking_notes");
      const created = await createMigration(name);
      console.log(created ? `Created ${path.relative(process.cwd(), path.join(migrationsDir, created))}/migration.sql` : "schema.prisma matches the migrations: nothing to do");
      return;
    }
    case "schema:print": {
      const { printedSchema } = await import("../graphql/schema.js");
      const target = path.resolve("schema", "schema.graphql");
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, printedSchema());
      console.log(`Wrote ${path.relative(process.cwd(), target)}`);
      return;
    }
    default:
      throw new UsageError(`Unknown command "${command}"`);
  }
}

// Exit explicitly: the WebAssembly schema engine leaves a timer behind that would keep the
// process alive for another ten seconds.
run(process.argv.slice(2)).then(
  () => process.stdout.write("", () => process.exit(0)),
  (error: unknown) => {
    // The webhook rules' refusals (bad input, not found, conflict) are the caller's to fix, like usage errors.
    if (error instanceof GraphQLError && ["BAD_USER_INPUT", "NOT_FOUND", "CONFLICT"].includes(String(error.extensions.code))) error = usageErrorOf(error);
    if (error instanceof UsageError || error instanceof UnknownScopeError) {
      console.error(`${error.message}\n\nRun npm run cli -- --help for usage.`);
      process.exit(2);
    }
    console.error(error instanceof DataDirInUseError ? error.message : error);
    process.exit(1);
  },
);
