// Velents Agent.sa API: one token per agent (VELENTS_AGENT, `agentsa_<48 hex>` here), paths at
// the root like the Support Center's (same host, velents-agents.velents.ai), successes wrapped
// in `{ "data": ... }`, and the Support Center's Laravel error bodies (velents.ts's `error`).
//
// The paths and request bodies come from a public client of the real API, not from Velents'
// documentation, which names Dispatch, Batch and "retrieve agent configuration" without paths
// (../shared/notes/platform-facts.md 2.2): POST /Integration/Agent/Dispatch and
// POST /Integration/Agent/Batch with Bearer <agent token>. That client checks only for a 2xx
// and reads no field of the answer, so the answers below are this service's choice.
//
// Where the documentation is silent (README "Agent.sa" lists these):
// - `channel_id`: 1 = WhatsApp, 3 = Voice. Only 3 = Voice is evidenced (the client above);
//   1 for WhatsApp is assumed. Any other value is a 422 naming channel_id.
// - POST /Integration/Agent/Dispatch `{channel_id, phone, values?, webhook?: {link, body?,
//   headers?}}` answers 201 `{data: {id, phone, channel_id, values, status, created_at}}`:
//   `id` is the conversation's number (Agent.sa's webhooks carry integer conversation ids),
//   `phone` as stored (without spaces, dashes, dots, brackets), `status` open, handed_off or
//   closed, `created_at` "YYYY-MM-DD HH:MM:SS" in UTC as the onStarted webhook writes it (a
//   reopened conversation keeps its first creation time). 409 while the phone's conversation
//   on that channel is open or handed off; a closed one is reopened (see
//   src/graphql/types/dispatch.ts for the rules). The webhook is stored and never returned.
// - POST /Integration/Agent/Batch `{channel_id, name, rows: [{phone, values?}] (1-1000),
//   webhook?}` answers 201 `{data: {id, name, channel_id, total, dispatched: [{row, reopened,
//   ...Dispatch's data}], skipped: [{row, phone, reason: in_progress|duplicate, message}],
//   created_at}}`: `id` is the batch's uuid (batches have no number), `row` the index in `rows`
//   from 0. Skipped rows do not fail the batch; a batch is all or nothing otherwise.
// - GET /Integration/Agent: the agent configuration. The docs name the endpoint without a
//   path and no public client calls it; the token is the agent, so the path is the collection
//   the two documented paths sit under. `{data: {id, public, name, status, system_prompt,
//   model: {provider, name}, created_at, updated_at}}` with `id` and `public` as the webhooks'
//   `agent` object writes them, status draft, published or archived.
// - Abilities (Agent.sa documents none): `dispatch` (conversations:write, conversations:read)
//   for Dispatch and Batch, `agent:read` (agents:read) for the configuration.
// - Unknown body fields are ignored, as Laravel does; fields inside a row or the webhook too.
import { z } from "zod";
import { defined } from "../mapping.js";
import { invalidField, notFoundFailure, type Dialect, type GraphQLData, type RestRequest, type Route } from "../route.js";
import { error, ErrorBody } from "./velents.js";

const uuid = z.guid();
/** Agent.sa's own date-time format (its webhooks' `created_at`), in UTC. */
const dateTime = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/)
  .describe("UTC, YYYY-MM-DD HH:MM:SS as Agent.sa's webhooks write it");
const toDateTime = (iso: string) => iso.slice(0, 19).replace("T", " ");

/** Agent.sa's integer channel ids and the channel type each is. */
const CHANNEL_OF_ID = new Map<unknown, string>([
  [1, "WHATSAPP"],
  [3, "VOICE"],
]);
const ID_OF_CHANNEL = new Map([...CHANNEL_OF_ID].map(([id, type]) => [type, id as number]));
const CHANNEL_IDS = "1 (WhatsApp) or 3 (Voice)";

// ---------------------------------------------------------------------------------------
// Requests.
// ---------------------------------------------------------------------------------------

const phone = z
  .string()
  .regex(/^\+?[0-9][0-9 ().-]{5,24}$/)
  .describe("The customer's phone, E.164 recommended");
const values = z.record(z.string(), z.unknown()).describe("Free key/values handed to the agent");
// JSON Schema `integer`, so generated clients type it as one (zod would say number).
const channelId = z.literal([1, 3]).meta({ type: "integer" }).describe(`Agent.sa's channel: ${CHANNEL_IDS}`);
const Webhook = z
  .object({
    link: z.string().describe("http or https URL the conversation's lifecycle events are POSTed to"),
    body: z.record(z.string(), z.unknown()).optional().describe("Sent along with every event"),
    headers: z.record(z.string(), z.string()).optional().describe("HTTP headers sent with every event; stored, never returned"),
  })
  .describe("Stored with the conversation and never returned (headers may hold secrets)");

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * `channel_id` as a ChannelType; absent passes on (the schema reports it missing), anything
 * else is a 422. A numeric string ("3") counts, as Laravel's integer rule takes one.
 */
function channelType(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const type = CHANNEL_OF_ID.get(typeof value === "string" && /^\d{1,3}$/.test(value) ? Number(value) : value);
  if (!type) throw invalidField("channel_id", `must be ${CHANNEL_IDS}`);
  return type;
}

/** The webhook's known fields (unknown ones are ignored); its shape is refused here, its values by the schema. */
function webhook(value: unknown) {
  if (value === undefined || value === null) return value;
  if (!isObject(value)) throw invalidField("webhook", "must be an object with link, body and headers");
  return defined({ link: value.link, body: value.body, headers: value.headers });
}

function rows(value: unknown) {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw invalidField("rows", "must be an array of { phone, values }");
  return value.map((row, index) => {
    if (!isObject(row)) throw invalidField(`rows.${index}`, "must be an object with phone and values");
    return defined({ phone: row.phone, values: row.values });
  });
}

/** GraphQL argument paths to the body's own names, for 422 and 404 bodies. */
const FIELDS = {
  "input.agentId": "agent",
  "input.channelType": "channel_id",
  "input.phone": "phone",
  "input.values": "values",
  "input.name": "name",
  "input.rows": "rows",
  "input.webhook": "webhook",
};

// ---------------------------------------------------------------------------------------
// Answers.
// ---------------------------------------------------------------------------------------

const DispatchedConversation = z.object({
  id: z.number().int().describe("The conversation's id: its number within the tenant"),
  phone: z.string().describe("As stored: without spaces, dashes, dots and brackets"),
  channel_id: channelId,
  values,
  status: z.enum(["open", "handed_off", "closed"]),
  created_at: dateTime,
});

const conversation = (row: GraphQLData) => ({
  id: row.number,
  phone: row.customerIdentifier,
  channel_id: ID_OF_CHANNEL.get(row.channelType)!,
  values: row.inputValues,
  status: String(row.status).toLowerCase(),
  created_at: toDateTime(row.createdAt),
});

const Batch = z.object({
  id: uuid.describe("The batch's id"),
  name: z.string(),
  channel_id: channelId,
  total: z.number().int().describe("Rows received"),
  dispatched: z.array(
    DispatchedConversation.extend({
      row: z.number().int().describe("The row's index in `rows`, from 0"),
      reopened: z.boolean().describe("A closed conversation with this phone was reopened rather than a new one created"),
    }),
  ),
  skipped: z.array(
    z.object({
      row: z.number().int(),
      phone: z.string(),
      reason: z.enum(["in_progress", "duplicate"]).describe("in_progress: its conversation is open or handed off; duplicate: an earlier row has the phone"),
      message: z.string(),
    }),
  ),
  created_at: dateTime,
});

function batch({ dispatchBatch: result }: GraphQLData, request: RestRequest) {
  const byNumber = new Map(result.conversations.map((row: GraphQLData) => [row.number, row]));
  return {
    data: {
      id: result.batch.id.replace(/^batch_/, ""),
      name: result.batch.name,
      channel_id: ID_OF_CHANNEL.get(result.batch.channelType)!,
      total: Array.isArray(request.body.rows) ? request.body.rows.length : 0,
      dispatched: result.dispatched.map((row: GraphQLData) => ({ row: row.row, reopened: row.reopened, ...conversation(byNumber.get(row.number)!) })),
      skipped: result.skipped.map((row: GraphQLData) => ({ row: row.row, phone: row.phone, reason: String(row.reason).toLowerCase(), message: row.message })),
      created_at: toDateTime(result.batch.createdAt),
    },
  };
}

const Agent = z.object({
  id: z.number().int().describe("The agent's id: its number within the tenant"),
  public: z.string().describe('Public handle, e.g. "boddy_rahsaan_Agent_4"'),
  name: z.string(),
  status: z.enum(["draft", "published", "archived"]),
  system_prompt: z.string(),
  model: z.object({ provider: z.string().nullable(), name: z.string().nullable() }),
  created_at: dateTime,
  updated_at: dateTime,
});

function agent({ viewer }: GraphQLData) {
  const row = viewer.token.agent;
  // The token's agent was deleted after the token was issued.
  if (!row) throw notFoundFailure();
  return {
    data: {
      id: row.number,
      public: row.publicId,
      name: row.name,
      status: String(row.status).toLowerCase(),
      system_prompt: row.systemPrompt,
      model: { provider: row.modelProvider, name: row.modelName },
      created_at: toDateTime(row.createdAt),
      updated_at: toDateTime(row.updatedAt),
    },
  };
}

// ---------------------------------------------------------------------------------------
// Routes.
// ---------------------------------------------------------------------------------------

const routes: Route[] = [
  {
    method: "POST",
    path: "/Integration/Agent/Dispatch",
    operation: "AgentsaDispatch",
    summary: "Start an outbound WhatsApp or voice conversation with one phone",
    scopes: ["dispatch"],
    status: 201,
    body: z.object({ channel_id: channelId, phone, values: values.optional(), webhook: Webhook.optional() }),
    response: z.object({ data: DispatchedConversation }),
    variables: ({ body }) => ({
      input: defined({ channelType: channelType(body.channel_id), phone: body.phone, values: body.values, webhook: webhook(body.webhook) }),
    }),
    result: (data) => ({ data: conversation(data.dispatchConversation) }),
    fields: FIELDS,
  },
  {
    method: "POST",
    path: "/Integration/Agent/Batch",
    operation: "AgentsaBatch",
    summary: "Start outbound conversations with up to 1000 phones at once",
    scopes: ["dispatch"],
    status: 201,
    body: z.object({
      channel_id: channelId,
      name: z.string().min(1).max(200),
      rows: z.array(z.object({ phone, values: values.optional() })).min(1).max(1_000),
      webhook: Webhook.optional(),
    }),
    response: z.object({ data: Batch }),
    variables: ({ body }) => ({
      input: defined({ channelType: channelType(body.channel_id), name: body.name, rows: rows(body.rows), webhook: webhook(body.webhook) }),
    }),
    result: batch,
    fields: FIELDS,
  },
  {
    method: "GET",
    path: "/Integration/Agent",
    operation: "AgentsaAgent",
    summary: "The configuration of the token's agent",
    scopes: ["agent:read"],
    response: z.object({ data: Agent }),
    variables: () => ({}),
    result: agent,
  },
];

export const velentsAgent: Dialect = {
  name: "velents-agent",
  title: "Velents Agent.sa API",
  formats: ["VELENTS_AGENT"],
  basePaths: [""],
  routes,
  errorSchema: ErrorBody,
  error,
  components: { DispatchedConversation, Batch, Agent },
};
