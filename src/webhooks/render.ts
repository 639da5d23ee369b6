// Each dialect's webhook bodies for one domain event, for one endpoint.
//
// Which names an event maps to (per dialect) is the table NAMES below; the names themselves are
// the catalogue's (catalog.ts), checked when this module loads.
//
// Veleria, Convo and Vorel wrap the changed resource in an envelope, and `data` is that
// resource exactly as the dialect's own REST API answers it: the renderer runs the dialect's
// route (its GraphQL operation from schema/rest/<dialect>.graphql and its `result` mapping) for
// a system viewer of the event's tenant holding every read scope. Where a dialect has no GET of
// the resource, the route whose mapping shows it (a list, or the write that answers it) is
// used: the resource is read by node(id) with the selection that route's operation makes, and
// handed to the route's `result` as its operation would have returned it. A resource deleted
// before fan-out is `{ "id": <the dialect's id> }`.
//
// Agent.sa (VELENTS_AGENT) payloads are Agent.sa's own documented shapes
// (../shared/seeds/001_*.txt, platform-facts 2.3), read straight from the database.
//
// Choices where the platforms are silent (README "Webhooks" should list these):
// - Veleria message.received / message.sent: `data` is the message as Veleria shows messages
//   (POST /messages/send's answer): contact_id and channel are the conversation's; an inbound
//   message (and any other not sent through a channel worker) has `status: null`, and `role`
//   is the message's own (user, assistant, operator).
// - Convo message.created: the message as GET /conversations/:id lists it.
// - Agent.sa: every event carries result.extraction ([] while nothing is extracted, as the
//   documented onMessage example shows); timestamps are ISO 8601 UTC without milliseconds
//   ("2025-11-13T23:25:10Z"); a conversation whose agent was deleted reads agent
//   { id: null, public: null }. onUpdate is not sent for the UPDATED of a (re)start: a reopen
//   empties the previous run's extraction, which extracts nothing.
import { createHash } from "node:crypto";
import {
  execute,
  Kind,
  parse,
  validate,
  visit,
  type DocumentNode,
  type FieldNode,
  type InlineFragmentNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import { DATA_SCOPES } from "../auth/scopes.js";
import type { Viewer } from "../auth/viewer.js";
import { loadConfig } from "../config.js";
import type { PrismaClient } from "../db/client.js";
import type { EventBus } from "../events/bus.js";
import type {
  BookingEventType,
  ContactEventType,
  ConversationEvent,
  ConversationEventType,
  DomainEvent,
  LeadEventType,
  OfferingEventType,
} from "../events/events.js";
import type { ApiToken } from "../generated/prisma/client.js";
import type { MessageRole, WebhookDialect } from "../generated/prisma/enums.js";
import { createContext, type Context } from "../graphql/context.js";
import { prismaErrorCode } from "../graphql/errors.js";
import { encodeId } from "../graphql/ids.js";
import { schema } from "../graphql/schema.js";
import type { LiveSession } from "../live/registry.js";
import { dialects } from "../rest/dialects/index.js";
import { loadDocument } from "../rest/documents.js";
import type { Dialect, GraphQLData, RestRequest, Route } from "../rest/route.js";
import { AGENT_EVENTS, WEBHOOK_EVENTS, type RegisteredDialect } from "./catalog.js";
import type { Webhooks } from "./engine.js";

export interface RenderTarget {
  id: string;
  dialect: WebhookDialect;
  /** The dialect's event names the endpoint subscribed to (Agent.sa endpoints: every one). */
  events: string[];
  /** Agent.sa: the dispatch's webhook.body, merged into every payload. */
  extraBody: unknown;
}

export interface RenderedDelivery {
  /** deliveryIdFor(endpoint, event, name): the same on every fan-out of the same event. */
  id: string;
  name: string;
  /** The exact JSON text sent (and signed) on every attempt. */
  body: string;
}

export interface Renderer {
  render(target: RenderTarget, event: DomainEvent, occurredAt: Date): Promise<RenderedDelivery[]>;
}

/**
 * The delivery's id: a uuid (version 8, RFC 9562 variant) from the SHA-256 of the endpoint,
 * the event and the name, so a fan-out that runs again makes the same ids (and finds them made).
 */
export function deliveryIdFor(endpointId: string, eventId: string, name: string): string {
  const bytes = createHash("sha256").update(JSON.stringify([endpointId, eventId, name])).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// ---------------------------------------------------------------------------------------
// Which names an event maps to.
// ---------------------------------------------------------------------------------------

interface NameRule {
  name: string;
  /** Only for a message of one of these roles (MESSAGE_ADDED). */
  roles?: MessageRole[];
  /** Only when the event's facts say so. */
  when?: (event: DomainEvent) => boolean;
}

type EventKey =
  | `contact:${ContactEventType}`
  | `booking:${BookingEventType}`
  | `lead:${LeadEventType}`
  | `conversation:${ConversationEventType}`
  | `offering:${OfferingEventType}`;

/** Vorel's lead.qualified: a lead leaving NEW. */
const leavesNew = (event: DomainEvent) => event.topic === "lead" && event.previousStatus === "NEW" && event.status !== "NEW";

const NAMES: Record<EventKey, Partial<Record<RegisteredDialect, NameRule[]>>> = {
  "contact:CREATED": { VELERIA: [{ name: "contact.created" }] },
  "contact:UPDATED": { VELERIA: [{ name: "contact.updated" }] },
  "booking:CREATED": { VELERIA: [{ name: "booking.created" }], VOREL: [{ name: "booking.created" }] },
  "booking:CANCELLED": { VELERIA: [{ name: "booking.cancelled" }], VOREL: [{ name: "booking.cancelled" }] },
  "booking:RESCHEDULED": { VOREL: [{ name: "booking.rescheduled" }] },
  "booking:COMPLETED": { VOREL: [{ name: "booking.completed" }] },
  "booking:UPDATED": {},
  "lead:CREATED": { CONVO: [{ name: "lead.created" }], VOREL: [{ name: "lead.created" }] },
  "lead:UPDATED": { CONVO: [{ name: "lead.updated" }], VOREL: [{ name: "lead.updated" }, { name: "lead.qualified", when: leavesNew }] },
  "conversation:CREATED": { CONVO: [{ name: "conversation.created" }], VOREL: [{ name: "conversation.created" }] },
  "conversation:UPDATED": { CONVO: [{ name: "conversation.updated" }] },
  "conversation:CLOSED": { CONVO: [{ name: "conversation.closed" }], VOREL: [{ name: "conversation.closed" }] },
  "conversation:HANDOFF_REQUESTED": { CONVO: [{ name: "conversation.handed_off" }], VOREL: [{ name: "conversation.handoff_requested" }] },
  "conversation:MESSAGE_ADDED": {
    CONVO: [{ name: "message.created" }],
    VELERIA: [
      { name: "message.received", roles: ["USER"] },
      { name: "message.sent", roles: ["ASSISTANT", "OPERATOR"] },
    ],
  },
  "conversation:MESSAGE_UPDATED": {},
  // Vorel's catalogue lists offering.created and offering.updated, while its offering pages say
  // none fires today (platform facts, conflict 4): an integrator only gets them by subscribing
  // to them by name, so they are sent. A deletion has no name in the catalogue: nothing is sent.
  "offering:CREATED": { VOREL: [{ name: "offering.created" }] },
  "offering:UPDATED": { VOREL: [{ name: "offering.updated" }] },
  "offering:DELETED": {},
};

for (const byDialect of Object.values(NAMES)) {
  for (const [dialect, rules] of Object.entries(byDialect) as [RegisteredDialect, NameRule[]][]) {
    const unknown = rules.filter((rule) => !WEBHOOK_EVENTS[dialect].includes(rule.name));
    if (unknown.length > 0) throw new Error(`webhooks: ${dialect} has no event ${unknown.map((rule) => rule.name).join(", ")} in its catalogue`);
  }
}

// ---------------------------------------------------------------------------------------
// The resource an event is about, in each registered dialect's REST shape.
// ---------------------------------------------------------------------------------------

type Resource = "contact" | "booking" | "lead" | "conversation" | "message" | "offering";
type ResourceType = "Contact" | "Booking" | "Lead" | "Conversation" | "Message" | "Offering";
const TYPE_OF: Record<Resource, ResourceType> = {
  contact: "Contact",
  booking: "Booking",
  lead: "Lead",
  conversation: "Conversation",
  message: "Message",
  offering: "Offering",
};

/** The row an event is about; a MESSAGE_ADDED without a message id names none. */
function subjectOf(event: DomainEvent): { resource: Resource; id: string | null } {
  switch (event.topic) {
    case "contact":
      return { resource: "contact", id: event.contactId };
    case "booking":
      return { resource: "booking", id: event.bookingId };
    case "lead":
      return { resource: "lead", id: event.leadId };
    case "offering":
      return { resource: "offering", id: event.offeringId };
    case "conversation":
      return event.type === "MESSAGE_ADDED" || event.type === "MESSAGE_UPDATED"
        ? { resource: "message", id: event.messageId }
        : { resource: "conversation", id: event.conversationId };
  }
}

/** How a registered dialect writes a row's id: Veleria's prefixed ids (our global ids), the others' bare uuids. */
const dialectId = (dialect: RegisteredDialect, type: ResourceType, uuid: string) => (dialect === "VELERIA" ? encodeId(type, uuid) : uuid);

interface Shape {
  /** The route whose operation and `result` show the resource. */
  operation: string;
  /**
   * Absent: the route GETs the resource by the id in its path and runs as it is. Present: the
   * resource sits at `path` in the route operation's result; it is read by node(id) with the
   * selection found there (plus `extra`, fields only the request needs), and `wrap` puts it
   * where the operation would have returned it.
   */
  at?: {
    path: string[];
    extra?: string;
    wrap(row: GraphQLData): GraphQLData;
    request?(row: GraphQLData): Partial<RestRequest>;
  };
  /** The resource in the route's answer. */
  unwrap(answer: any, row: GraphQLData): unknown;
}

const SHAPES: Record<RegisteredDialect, Partial<Record<Resource, Shape>>> = {
  VELERIA: {
    contact: { operation: "VeleriaGetContact", unwrap: (answer) => answer.data },
    // No GET of one booking: the list's mapping.
    booking: {
      operation: "VeleriaListBookings",
      at: { path: ["bookings", "edges", "node"], wrap: (row) => ({ bookings: { totalCount: 1, edges: [{ node: row }] } }) },
      unwrap: (answer) => answer.data[0],
    },
    // Veleria shows messages only as POST /messages/send answers them (its contact and channel
    // are the request's: here the conversation's). Messages that were never queued for a
    // channel worker (a customer's, say) have no delivery status: null.
    message: {
      operation: "VeleriaSendMessage",
      at: {
        path: ["sendMessageToContact"],
        extra: "webhookConversation: conversation { contactId channelType }",
        wrap: ({ webhookConversation: _conversation, ...row }) => ({ sendMessageToContact: { ...row, deliveryStatus: row.deliveryStatus ?? "" } }),
        request: (row) => ({ body: { contact_id: row.webhookConversation.contactId, channel: row.webhookConversation.channelType } }),
      },
      unwrap: (answer, row) => ({ ...answer.data, status: row.deliveryStatus === null ? null : answer.data.status }),
    },
  },
  CONVO: {
    // No GET of one lead: the list's mapping.
    lead: {
      operation: "ConvoListLeads",
      at: { path: ["leads", "edges", "node"], wrap: (row) => ({ leads: { edges: [{ node: row }] } }) },
      unwrap: (answer) => answer[0],
    },
    conversation: { operation: "ConvoGetConversation", unwrap: (answer) => answer },
    // A message as Convo shows messages (GET /conversations/:id, operator replies).
    message: {
      operation: "ConvoSendOperatorMessage",
      at: { path: ["sendOperatorMessage"], wrap: (row) => ({ sendOperatorMessage: row }) },
      unwrap: (answer) => answer,
    },
  },
  VOREL: {
    lead: { operation: "VorelGetLead", unwrap: (answer) => answer },
    booking: { operation: "VorelGetAppointment", unwrap: (answer) => answer },
    conversation: { operation: "VorelGetConversation", unwrap: (answer) => answer },
    offering: { operation: "VorelGetOffering", unwrap: (answer) => answer },
  },
};

interface PreparedShape {
  shape: Shape;
  route: Route;
  /** The operation to execute: the route's own, or the node(id) read made for it. */
  operationName: string;
  /** Where the resource sits in that operation's data. */
  key: string;
  /** The path parameter naming the resource (GET routes). */
  param?: string;
}

interface PreparedDialect {
  dialect: Dialect;
  document: DocumentNode;
  shapes: Partial<Record<Resource, PreparedShape>>;
}

const responseKey = (field: FieldNode) => field.alias?.value ?? field.name.value;

function operationNamed(document: DocumentNode, name: string): OperationDefinitionNode {
  const operation = document.definitions.find(
    (definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION && definition.name?.value === name,
  );
  if (!operation) throw new Error(`webhooks: no operation ${name}`);
  return operation;
}

function selectionAt(operation: OperationDefinitionNode, path: string[]): SelectionSetNode {
  let set = operation.selectionSet;
  for (const key of path) {
    const field = set.selections.find((selection): selection is FieldNode => selection.kind === Kind.FIELD && responseKey(selection) === key);
    if (!field?.selectionSet) throw new Error(`webhooks: ${operation.name?.value} selects no ${path.join(".")}`);
    set = field.selectionSet;
  }
  return set;
}

/** `query Webhook<Operation>($id: ID!) { resource: node(id: $id) { ... on <Type> { <extra> <the route's selection> } } }` */
function nodeRead(name: string, type: ResourceType, extra: string | undefined, selection: SelectionSetNode): OperationDefinitionNode {
  const template = parse(`query ${name}($id: ID!) { resource: node(id: $id) { ... on ${type} { __typename ${extra ?? ""} } } }`, { noLocation: true });
  const filled = visit(template, {
    InlineFragment: {
      leave: (node: InlineFragmentNode) => ({
        ...node,
        selectionSet: { ...node.selectionSet, selections: [...node.selectionSet.selections.filter((each) => each.kind !== Kind.FIELD || each.name.value !== "__typename"), ...selection.selections] },
      }),
    },
  });
  return filled.definitions[0] as OperationDefinitionNode;
}

function prepareDialect(name: RegisteredDialect): PreparedDialect {
  const dialect = dialects.find((each) => each.formats.includes(name));
  if (!dialect) throw new Error(`webhooks: no REST dialect for ${name}`);
  const base = loadDocument(schema, dialect);
  const reads: OperationDefinitionNode[] = [];
  const shapes: Partial<Record<Resource, PreparedShape>> = {};
  for (const [resource, shape] of Object.entries(SHAPES[name]) as [Resource, Shape][]) {
    const route = dialect.routes.find((each) => each.operation === shape.operation);
    if (!route) throw new Error(`webhooks: ${dialect.name} has no route running ${shape.operation}`);
    const operation = operationNamed(base, shape.operation);
    if (shape.at) {
      const operationName = `Webhook${shape.operation}`;
      reads.push(nodeRead(operationName, TYPE_OF[resource], shape.at.extra, selectionAt(operation, shape.at.path)));
      shapes[resource] = { shape, route, operationName, key: "resource" };
    } else {
      const [field] = operation.selectionSet.selections;
      const param = /:(\w+)/.exec(route.path)?.[1];
      if (route.method !== "GET" || field?.kind !== Kind.FIELD || !param) throw new Error(`webhooks: ${shape.operation} is not a GET of one resource`);
      shapes[resource] = { shape, route, operationName: shape.operation, key: responseKey(field), param };
    }
  }
  const document: DocumentNode = { ...base, definitions: [...base.definitions, ...reads] };
  const errors = validate(schema, document);
  if (errors.length > 0) throw new Error(`webhooks: ${dialect.name}: ${errors.map((error) => error.message).join("; ")}`);
  return { dialect, document, shapes };
}

let prepared: Map<RegisteredDialect, PreparedDialect> | undefined;
/** Built on first use: the documents are validated against the schema once. */
function preparedDialect(name: RegisteredDialect): PreparedDialect {
  prepared ??= new Map((Object.keys(WEBHOOK_EVENTS) as RegisteredDialect[]).map((each) => [each, prepareDialect(each)]));
  return prepared.get(name)!;
}

// ---------------------------------------------------------------------------------------
// A system viewer: the event's tenant, every read scope, reads only.
// ---------------------------------------------------------------------------------------

const readOnly = (what: string) => (): never => {
  throw new Error(`webhook rendering only reads: it cannot ${what}`);
};

const READ_ONLY_EVENTS: EventBus = {
  publish: readOnly("publish events"),
  publishControl: readOnly("publish events"),
  subscribe: readOnly("subscribe to events"),
  onControl: readOnly("subscribe to events"),
  status: () => "up",
  close: async () => {},
};

const READ_ONLY_WEBHOOKS: Webhooks = {
  record: readOnly("record events"),
  committed: readOnly("record events"),
  redeliver: readOnly("redeliver webhooks"),
  resume: readOnly("resume webhooks"),
  prune: readOnly("prune webhooks"),
  box: readOnly("open webhook secrets"),
  // Nothing registers a target here.
  allowPrivate: false,
  start: readOnly("start webhooks"),
  stop: async () => {},
};

const NO_LIVE: LiveSession = { open: readOnly("open live streams") };

/** The defaults: the renderer's own documents are far within them. */
const LIMITS = loadConfig({}).limits;

/** No token row: a stand-in of the dialect's format that holds every data scope and exists nowhere. */
function systemToken(tenantId: string, format: RegisteredDialect): ApiToken {
  return {
    id: "00000000-0000-4000-8000-000000000000",
    tenantId,
    name: "webhook renderer",
    format,
    scopes: [...DATA_SCOPES],
    secretHash: "",
    displayPrefix: "",
    agentId: null,
    expiresAt: null,
    revokedAt: null,
    lastUsedAt: null,
    createdAt: new Date(0),
  };
}

// ---------------------------------------------------------------------------------------
// Rendering.
// ---------------------------------------------------------------------------------------

interface Loaded {
  /** The resource in the dialect's shape, or `{ id }` when it no longer exists. */
  data: unknown;
  /** MESSAGE_ADDED: the message's role; undefined when it no longer exists. */
  role?: MessageRole;
}

/** ISO 8601 with an explicit offset, as Veleria's example writes it ("…+00:00"). */
const withOffset = (date: Date) => date.toISOString().replace(/Z$/, "+00:00");
/** ISO 8601 UTC without milliseconds, as Agent.sa's examples write it. */
const isoSeconds = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, "Z");
/** Agent.sa's created_at: "YYYY-MM-DD HH:MM:SS", UTC. */
const agentDateTime = (date: Date) => date.toISOString().slice(0, 19).replace("T", " ");

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

function envelope(dialect: RegisteredDialect, id: string, name: string, occurredAt: Date, data: unknown) {
  switch (dialect) {
    case "VELERIA":
      return { event: name, timestamp: withOffset(occurredAt), data };
    case "CONVO":
      return { id, event: name, createdAt: occurredAt.toISOString(), data };
    case "VOREL":
      return { id, event: name, created_at: occurredAt.toISOString(), data };
  }
}

const SPOKEN: MessageRole[] = ["USER", "ASSISTANT", "OPERATOR"];
const HISTORY = 100;
/** Loads kept across render calls: one event fans out to several endpoints of a dialect. */
const MEMO_SIZE = 64;

export function createRenderer(prisma: PrismaClient): Renderer {
  const memo = new Map<string, Promise<Loaded | null>>();

  async function contextFor(tenantId: string, format: RegisteredDialect): Promise<Context | null> {
    const tenant = await prisma.tenant.findUnique({ where: { id: tenantId } });
    if (!tenant) return null;
    const viewer: Viewer = { tenant, token: systemToken(tenantId, format), scopes: new Set(DATA_SCOPES) };
    return createContext({ prisma, events: READ_ONLY_EVENTS, webhooks: READ_ONLY_WEBHOOKS }, viewer, NO_LIVE, LIMITS);
  }

  /** The event's resource in the dialect's REST shape; null when there is nothing to send (no tenant, no message). */
  async function load(dialect: RegisteredDialect, event: DomainEvent): Promise<Loaded | null> {
    const { resource, id } = subjectOf(event);
    const { document, shapes } = preparedDialect(dialect);
    const prepared = shapes[resource];
    if (!prepared) throw new Error(`webhooks: ${dialect} shows no ${resource}`);
    if (!id) return null;
    const gone: Loaded = { data: { id: dialectId(dialect, TYPE_OF[resource], id) } };
    const context = await contextFor(event.tenantId, dialect);
    if (!context) return null;
    const { shape, route, operationName, key, param } = prepared;
    const request: RestRequest = { params: {}, query: new URLSearchParams(), body: {} };
    let variables: Record<string, unknown>;
    if (param) {
      request.params[param] = dialectId(dialect, TYPE_OF[resource], id);
      variables = route.variables(request);
    } else {
      variables = { id: encodeId(TYPE_OF[resource], id) };
    }
    const result = await execute({ schema, document, operationName, variableValues: variables, contextValue: context });
    if (result.errors?.length) {
      // node() reads with findUniqueOrThrow: a row gone is Prisma's P2025 (which the HTTP
      // layer's error masking turns into NOT_FOUND, as here).
      if (result.errors.every((error) => error.extensions.code === "NOT_FOUND" || prismaErrorCode(error.originalError) === "P2025")) return gone;
      throw new Error(`webhooks: ${operationName} for event ${event.id}: ${result.errors[0]!.message}`);
    }
    const row = result.data?.[key] as GraphQLData | null | undefined;
    // node() answers null for a row that is gone, and {} for one of another type.
    if (!row?.id) return gone;
    const role = resource === "message" ? (row.role as MessageRole) : undefined;
    if (shape.at) {
      Object.assign(request, shape.at.request?.(row));
      return { data: shape.unwrap(route.result(shape.at.wrap(row), request), row), role };
    }
    return { data: shape.unwrap(route.result(result.data!, request), row), role };
  }

  function loadOnce(dialect: RegisteredDialect, event: DomainEvent): Promise<Loaded | null> {
    const key = `${dialect}:${event.tenantId}:${event.id}`;
    let loading = memo.get(key);
    if (!loading) {
      loading = load(dialect, event);
      memo.set(key, loading);
      loading.catch(() => memo.delete(key));
      if (memo.size > MEMO_SIZE) memo.delete(memo.keys().next().value!);
    }
    return loading;
  }

  async function renderRegistered(target: RenderTarget, dialect: RegisteredDialect, event: DomainEvent, occurredAt: Date): Promise<RenderedDelivery[]> {
    const rules = (NAMES[`${event.topic}:${event.type}` as EventKey]?.[dialect] ?? []).filter(
      (rule) => target.events.includes(rule.name) && (!rule.when || rule.when(event)),
    );
    if (rules.length === 0) return [];
    const loaded = await loadOnce(dialect, event);
    if (!loaded) return [];
    return rules
      .filter((rule) => !rule.roles || (loaded.role !== undefined && rule.roles.includes(loaded.role)))
      .map(({ name }) => {
        const id = deliveryIdFor(target.id, event.id, name);
        return { id, name, body: JSON.stringify(envelope(dialect, id, name, occurredAt, loaded.data)) };
      });
  }

  // -------------------------------------------------------------------------------------
  // Agent.sa.
  // -------------------------------------------------------------------------------------

  type Spoken = { role: MessageRole; content: string; createdAt: Date; sequence: number };

  /** The latest USER message stored before `message` in its conversation. */
  async function customerBefore(event: ConversationEvent, message: Spoken): Promise<string | null> {
    const previous = await prisma.message.findFirst({
      where: {
        conversationId: event.conversationId,
        tenantId: event.tenantId,
        role: "USER",
        OR: [{ createdAt: { lt: message.createdAt } }, { createdAt: message.createdAt, sequence: { lt: message.sequence } }],
      },
      orderBy: [{ createdAt: "desc" }, { sequence: "desc" }],
      select: { content: true },
    });
    return previous?.content ?? null;
  }

  async function renderAgent(target: RenderTarget, event: DomainEvent): Promise<RenderedDelivery[]> {
    if (event.topic !== "conversation") return [];
    const names = new Set<(typeof AGENT_EVENTS)[number]>();
    if (event.started) names.add("onStarted");
    if (event.type === "MESSAGE_ADDED" && event.messageId) names.add("onMessage");
    if (event.type === "UPDATED" && !event.started && event.changed?.includes("extractedValues")) names.add("onUpdate");
    if (event.type === "CLOSED") names.add("onEnded");
    if (names.size === 0) return [];

    // One statement: the conversation, its agent and the messages the events need (the new
    // message for onMessage, else the last HISTORY spoken ones for the history).
    const history = names.has("onUpdate") || names.has("onEnded");
    const conversation = await prisma.conversation.findFirst({
      where: { id: event.conversationId, tenantId: event.tenantId },
      select: {
        number: true,
        customerIdentifier: true,
        inputValues: true,
        extractedValues: true,
        createdAt: true,
        agent: { select: { number: true, publicId: true } },
        messages: {
          where: names.has("onMessage") ? { id: event.messageId!, tenantId: event.tenantId } : { role: { in: SPOKEN }, tenantId: event.tenantId },
          orderBy: [{ createdAt: "desc" }, { sequence: "desc" }],
          take: names.has("onMessage") ? 1 : history ? HISTORY : 0,
          select: { role: true, content: true, createdAt: true, sequence: true },
        },
      },
    });
    if (!conversation) return [];
    const messages: Spoken[] = [...conversation.messages].reverse();
    const extraction = isObject(conversation.extractedValues) && Object.keys(conversation.extractedValues).length > 0 ? conversation.extractedValues : [];
    const historyOf = () =>
      messages.map((message) => ({ role: message.role === "USER" ? "customer" : "agent", message: message.content, timestamp: isoSeconds(message.createdAt) }));
    const exchange = async (agentMessage: Spoken, customer: string | null | undefined) => ({
      customer: customer === undefined ? await customerBefore(event, agentMessage) : customer,
      agent: agentMessage.content,
      timestamp: isoSeconds(agentMessage.createdAt),
    });
    /** The latest exchange in the history: the last ASSISTANT message and the USER message before it. */
    const latestExchange = async () => {
      const at = messages.findLastIndex((message) => message.role === "ASSISTANT");
      if (at < 0) return undefined;
      const customer = messages.slice(0, at).findLast((message) => message.role === "USER")?.content;
      // Not among the messages read only if the history was cut before it: ask.
      return exchange(messages[at]!, customer ?? (messages.length === HISTORY ? undefined : null));
    };

    const results: [string, Record<string, unknown>][] = [];
    for (const name of AGENT_EVENTS) {
      if (!names.has(name)) continue;
      if (name === "onStarted") results.push([name, { extraction }]);
      if (name === "onMessage") {
        const message = messages[0];
        if (message?.role !== "ASSISTANT") continue;
        results.push([name, { extraction, message: await exchange(message, undefined) }]);
      }
      if (name === "onUpdate") {
        const message = await latestExchange();
        results.push([name, { extraction, ...(message ? { message } : {}), history: historyOf() }]);
      }
      if (name === "onEnded") results.push([name, { extraction, history: historyOf() }]);
    }

    const extra = isObject(target.extraBody) ? Object.entries(target.extraBody) : [];
    return results.map(([name, result]) => {
      const documented = {
        event: { type: name, about: "conversation" },
        agent: { id: conversation.agent?.number ?? null, public: conversation.agent?.publicId ?? null },
        conversation: {
          id: conversation.number,
          phone: conversation.customerIdentifier,
          values: conversation.inputValues,
          ...(name === "onStarted" ? { created_at: agentDateTime(conversation.createdAt) } : {}),
        },
        result,
      };
      // The integrator's webhook.body rides along; the documented keys are ours. fromEntries
      // defines own properties, so a key such as "__proto__" stays a plain key.
      const body = Object.fromEntries([...Object.entries(documented), ...extra.filter(([key]) => !Object.hasOwn(documented, key))]);
      return { id: deliveryIdFor(target.id, event.id, name), name, body: JSON.stringify(body) };
    });
  }

  return {
    async render(target, event, occurredAt) {
      if (target.dialect === "VELENTS_AGENT") return renderAgent(target, event);
      return renderRegistered(target, target.dialect, event, occurredAt);
    },
  };
}
