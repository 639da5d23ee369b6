// The baseline: the benchmark's conversations page fetched with the SQL a careful engineer
// would write by hand, through `pg`, and served by a bare node:http handler. It answers
// POST /graphql with the very bytes the GraphQL server returns for the benchmark query
// (run.ts checks that), so both sides are measured through HTTP doing the same work:
//
//   1. the bearer token, by hash, with its tenant      (the server authenticates too)
//   2. the page, contact/agent/channel joined   } in parallel
//   3. the total count                          }
//   4. the tags of the page's conversations     } in parallel
//   5. the last N messages of each, one window query }
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";

export interface BaselineOptions {
  /** postgresql:// URL; a `?schema=` parameter selects the schema, as for the server. */
  databaseUrl: string;
  /** Pool size; the server's pool (src/db/client.ts) has 10. */
  poolSize: number;
  pageSize: number;
  lastMessages: number;
}

export interface BaselineServer {
  server: ReturnType<typeof createServer>;
  listen(port: number, host: string): Promise<number>;
  /** SQL statements sent so far. */
  sqlStatementCount(): number;
  close(): Promise<void>;
}

const SCOPES_NEEDED = ["conversations:read", "contacts:read", "agents:read", "channels:read"];

const AUTH_SQL = `
  SELECT tk."tenantId", tk."scopes", tk."revokedAt", tk."expiresAt"
  FROM "ApiToken" tk
  JOIN "Tenant" tn ON tn."id" = tk."tenantId"
  WHERE tk."secretHash" = $1`;

const PAGE_SQL = `
  SELECT c."id", c."status", c."customerName",
         c."contactId", ct."firstName", ct."lastName", ct."email",
         c."agentId", a."name" AS "agentName",
         c."channelId", ch."name" AS "channelName"
  FROM "Conversation" c
  LEFT JOIN "Contact" ct ON ct."id" = c."contactId" AND ct."tenantId" = c."tenantId"
  LEFT JOIN "Agent" a ON a."id" = c."agentId" AND a."tenantId" = c."tenantId"
  LEFT JOIN "Channel" ch ON ch."id" = c."channelId" AND ch."tenantId" = c."tenantId"
  WHERE c."tenantId" = $1
  ORDER BY c."createdAt" DESC, c."id" DESC
  LIMIT $2`;

const COUNT_SQL = `SELECT count(*)::int AS "n" FROM "Conversation" WHERE "tenantId" = $1`;

const TAGS_SQL = `
  SELECT ct."conversationId", t."name"
  FROM "ConversationTag" ct
  JOIN "Tag" t ON t."id" = ct."tagId"
  WHERE ct."tenantId" = $1 AND ct."conversationId" = ANY($2::uuid[])
  ORDER BY ct."createdAt", ct."tagId"`;

// Timestamps are TIMESTAMP(3) holding UTC (as Prisma writes them): format them in SQL,
// which also keeps pg's local-time parsing of timestamps out of the picture.
const MESSAGES_SQL = `
  SELECT r."conversationId", r."role", r."content",
         to_char(r."createdAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt"
  FROM (
    SELECT m."conversationId", m."role", m."content", m."createdAt", m."id",
           row_number() OVER (PARTITION BY m."conversationId" ORDER BY m."createdAt" DESC, m."id" DESC) AS rank
    FROM "Message" m
    WHERE m."tenantId" = $1 AND m."conversationId" = ANY($2::uuid[])
  ) r
  WHERE r.rank <= $3
  ORDER BY r."createdAt", r."id"`;

interface PageRow {
  id: string;
  status: string;
  customerName: string | null;
  contactId: string | null;
  firstName: string | null;
  lastName: string | null;
  email: string | null;
  agentId: string | null;
  agentName: string | null;
  channelId: string | null;
  channelName: string | null;
}

interface MessageRow {
  conversationId: string;
  role: string;
  content: string;
  createdAt: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** pg connection settings for a URL whose `?schema=` names the schema, as src/db/client.ts reads it. */
export function connectionConfig(databaseUrl: string): pg.ClientConfig {
  const url = new URL(databaseUrl);
  const schema = url.searchParams.get("schema") ?? undefined;
  url.searchParams.delete("schema");
  return {
    connectionString: url.toString(),
    options: schema ? `-c search_path="${schema.replace(/"/g, "")}"` : undefined,
  };
}

export function createBaselineServer(options: BaselineOptions): BaselineServer {
  const pool = new pg.Pool({ ...connectionConfig(options.databaseUrl), max: options.poolSize });
  let statements = 0;
  function query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    statements += 1;
    return pool.query<R>(text, values);
  }

  async function tenantOf(authorization: string | undefined): Promise<string> {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "")?.[1];
    if (!token) throw new HttpError(401, "Missing bearer token", "UNAUTHENTICATED");
    const hash = createHash("sha256").update(token).digest("hex");
    const { rows } = await query<{ tenantId: string; scopes: string[]; revokedAt: Date | null; expiresAt: Date | null }>(
      AUTH_SQL,
      [hash],
    );
    const row = rows[0];
    if (!row || row.revokedAt || (row.expiresAt && row.expiresAt.getTime() <= Date.now())) {
      throw new HttpError(401, "Invalid token", "UNAUTHENTICATED");
    }
    const missing = SCOPES_NEEDED.find((scope) => !row.scopes.includes(scope));
    if (missing) throw new HttpError(403, `Missing scope ${missing}`, "FORBIDDEN");
    return row.tenantId;
  }

  async function conversationsPage(tenantId: string) {
    const [page, count] = await Promise.all([
      query<PageRow>(PAGE_SQL, [tenantId, options.pageSize]),
      query<{ n: number }>(COUNT_SQL, [tenantId]),
    ]);
    const ids = page.rows.map((row) => row.id);
    const [tags, messages] = await Promise.all([
      query<{ conversationId: string; name: string }>(TAGS_SQL, [tenantId, ids]),
      query<MessageRow>(MESSAGES_SQL, [tenantId, ids, options.lastMessages]),
    ]);
    const tagsOf = new Map<string, { name: string }[]>(ids.map((id) => [id, []]));
    for (const tag of tags.rows) tagsOf.get(tag.conversationId)?.push({ name: tag.name });
    const messagesOf = new Map<string, { role: string; content: string; createdAt: string }[]>(ids.map((id) => [id, []]));
    for (const m of messages.rows) messagesOf.get(m.conversationId)?.push({ role: m.role, content: m.content, createdAt: m.createdAt });

    // Keys in the order of the query's selection, as a GraphQL server writes them.
    return {
      data: {
        conversations: {
          totalCount: count.rows[0]?.n ?? 0,
          edges: page.rows.map((row) => ({
            node: {
              id: `conv_${row.id}`,
              status: row.status,
              customerName: row.customerName,
              contact: row.contactId === null ? null : { firstName: row.firstName, lastName: row.lastName, email: row.email },
              agent: row.agentId === null ? null : { name: row.agentName },
              channel: row.channelId === null ? null : { name: row.channelName },
              tags: tagsOf.get(row.id) ?? [],
              lastMessages: messagesOf.get(row.id) ?? [],
            },
          })),
        },
      },
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    let status = 200;
    let payload: unknown;
    try {
      if (req.method !== "POST" || req.url !== "/graphql") throw new HttpError(404, "Not found", "NOT_FOUND");
      JSON.parse(await readBody(req)); // the request is always the benchmark query; parse it all the same
      payload = await conversationsPage(await tenantOf(req.headers.authorization));
    } catch (error) {
      status = error instanceof HttpError ? error.status : 500;
      const code = error instanceof HttpError ? error.code : "INTERNAL_SERVER_ERROR";
      if (!(error instanceof HttpError)) console.error(error);
      payload = { errors: [{ message: error instanceof Error ? error.message : String(error), extensions: { code } }] };
    }
    const body = JSON.stringify(payload);
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body) });
    res.end(body);
  }

  const server = createServer((req, res) => void handle(req, res));
  return {
    server,
    sqlStatementCount: () => statements,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
      }),
    async close() {
      await new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
      });
      await pool.end();
    },
  };
}
