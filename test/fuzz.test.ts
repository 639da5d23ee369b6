// A seeded, bounded fuzz test of every GraphQL query and mutation (walked from the executable
// schema) and every REST route of every dialect (walked from the served OpenAPI documents).
// Each case starts from a plausible request built from the seeded tenant's real ids, then
// (mostly) makes one hostile change: NUL characters, lone surrogates, very long strings,
// 10,000 levels of nesting, wrong types, null, odd numbers, empty objects, unknown fields, bad
// enum values, another tenant's, unknown, malformed or wrong-type ids, percent-encoding
// garbage, bodies that are not JSON objects, odd headers and tokens.
//
// Whatever the answer, it must be a refusal the service meant: below 500, no
// INTERNAL_SERVER_ERROR, a JSON body on every error, and no partial write (a refused write
// leaves both tenants' rows as they were). Failures are collected and reported in one
// assertion, deduplicated, with the smallest request that showed each.
//
// FUZZ_SEED and FUZZ_CASES change the seed and the number of cases for longer local runs; the
// same seed and count make the same requests (up to the uuids the database hands out).
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isUnionType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLOutputType,
} from "graphql";
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { DATA_SCOPES } from "../src/auth/scopes.js";
import type { TokenFormat } from "../src/generated/prisma/enums.js";
import { PREFIX_BY_TYPE } from "../src/graphql/ids.js";
import { schema } from "../src/graphql/schema.js";
import { dialects } from "../src/rest/dialects/index.js";
import type { Dialect } from "../src/rest/route.js";
import { seedTenant, snapshot, type Seed } from "./fixtures.js";
import { startTestServer, type TestServer } from "./harness.js";
import { openApiOracle } from "./openapi-oracle.js";

const SEED = Number(process.env.FUZZ_SEED ?? 20_240_808);
const CASES = Number(process.env.FUZZ_CASES ?? 2_400);
/** Share of the cases that go to GraphQL operations; the rest go to REST routes. */
const GRAPHQL_SHARE = 0.6;
/** How deep the deeply nested values go: far past any recursion a parser can afford. */
const DEPTH = 10_000;

// ---------------------------------------------------------------------------------------
// A seeded PRNG (mulberry32): a seed names one run exactly.
// ---------------------------------------------------------------------------------------

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  /** A version-4-shaped uuid from the seed: names no row, in a way the run can repeat. */
  uuid(): string {
    const hex = Array.from({ length: 32 }, () => this.int(16).toString(16)).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20)}`;
  }
}

// ---------------------------------------------------------------------------------------
// Values that JSON.stringify and encodeURIComponent cannot write.
// ---------------------------------------------------------------------------------------

/**
 * JSON text sent as it is: nesting that a recursive serialiser would overflow on, numbers a
 * JS number cannot hold (1e400, 2^53 + 1). `literal` is the same value in GraphQL syntax.
 */
class RawJson {
  constructor(
    readonly json: string,
    readonly literal: string | undefined = json,
  ) {}
}
/** Text put into a URL as it is: percent-encoding that encodeURIComponent would never produce. */
class RawUrl {
  constructor(readonly text: string) {}
}
/** Marks a value to leave out (a missing field, parameter or path segment). */
const DROP = Symbol("drop");

const deepArray = () => new RawJson("[".repeat(DEPTH) + "]".repeat(DEPTH));
const deepObject = () => new RawJson('{"a":'.repeat(DEPTH) + "1" + "}".repeat(DEPTH), "{a:".repeat(DEPTH) + "1" + "}".repeat(DEPTH));

/** JSON text of a value; own keys such as "__proto__" included, RawJson verbatim. */
function toJson(value: unknown): string {
  if (value instanceof RawJson) return value.json;
  if (Array.isArray(value)) return `[${value.map(toJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const fields = Object.entries(value).filter(([, inner]) => inner !== undefined && inner !== DROP);
    return `{${fields.map(([key, inner]) => `${JSON.stringify(key)}:${toJson(inner)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

const NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

/**
 * The value as a GraphQL literal at a position of `type` (enum values bare), or undefined when
 * GraphQL has no spelling for it (an object key that is not a name).
 */
function toLiteral(value: unknown, type: GraphQLInputType | undefined): string | undefined {
  if (value instanceof RawJson) return value.literal;
  const inner = type && isNonNullType(type) ? type.ofType : type;
  if (value === null) return "null";
  if (Array.isArray(value)) {
    const items = value.map((item) => toLiteral(item, inner && isListType(inner) ? inner.ofType : undefined));
    return items.every((item) => item !== undefined) ? `[${items.join(", ")}]` : undefined;
  }
  if (typeof value === "object") {
    const fields = inner && isInputObjectType(inner) ? inner.getFields() : {};
    const parts = Object.entries(value).map(([key, item]) => {
      const literal = NAME.test(key) ? toLiteral(item, fields[key]?.type) : undefined;
      return literal === undefined ? undefined : `${key}: ${literal}`;
    });
    return parts.every((part) => part !== undefined) ? `{${parts.join(", ")}}` : undefined;
  }
  if (typeof value === "string") return inner && isEnumType(inner) && NAME.test(value) ? value : JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

/** Sets (or, for DROP, removes) the value at `path` inside `root`; the root itself for []. */
function setAt(root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  let target = root as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) target = target[key] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (value === DROP) {
    if (Array.isArray(target)) target.splice(Number(last), 1);
    else delete target[last];
  } else {
    // defineProperty, not assignment: a key "__proto__" must become an own field, not the prototype.
    Object.defineProperty(target, last, { value, enumerable: true, writable: true, configurable: true });
  }
  return root;
}

// ---------------------------------------------------------------------------------------
// Ids: the seeded tenant's real rows, the other tenant's, and ids that name nothing.
// ---------------------------------------------------------------------------------------

const ROW_TYPES = ["Contact", "Lead", "Agent", "Channel", "Conversation", "Message", "Tag", "Booking", "Offering", "ApiToken"] as const;
type RowType = (typeof ROW_TYPES)[number];
const PREFIX: Record<RowType, string> = PREFIX_BY_TYPE;
/** A tenant's row of each type, by uuid. */
type Rows = Record<RowType, string>;

const rowsOf = (seed: Seed): Rows => ({
  Contact: seed.raw.contact.id,
  Lead: seed.raw.lead.id,
  Agent: seed.raw.agent.id,
  Channel: seed.raw.channel.id,
  Conversation: seed.raw.conversation.id,
  Message: seed.raw.message.id,
  Tag: seed.raw.tag.id,
  Booking: seed.raw.booking.id,
  Offering: seed.raw.offering.id,
  // The seed's agent token: revoking it disturbs none of the tokens the cases use.
  ApiToken: seed.raw.other.id,
});

/** Words in a name or a path that say what kind of row an id names; first match wins. */
const ROW_WORDS: [RegExp, RowType][] = [
  [/conversation|ticket|thread/i, "Conversation"],
  [/contact|customer/i, "Contact"],
  [/lead/i, "Lead"],
  [/agent/i, "Agent"],
  [/channel/i, "Channel"],
  [/message/i, "Message"],
  [/tag/i, "Tag"],
  [/booking|appointment/i, "Booking"],
  [/offering/i, "Offering"],
  [/token/i, "ApiToken"],
];

/** What an id names: from its own name (contactId, tag_ids), else from where it is (updateContact's id, /leads/{id}). */
function rowOf(name: string, context: string): RowType | undefined {
  for (const text of [name.replace(/_?ids?$/i, ""), context]) {
    const found = ROW_WORDS.find(([pattern]) => pattern.test(text));
    if (found) return found[1];
  }
  return undefined;
}

/** GraphQL takes global ids (con_<uuid>); REST dialects take either those or bare uuids. */
type IdStyle = "global" | "bare";
const writeId = (row: RowType, uuid: string, style: IdStyle) => (style === "global" ? `${PREFIX[row]}_${uuid}` : uuid);

interface World {
  own: Rows;
  foreign: Rows;
  /** Contacts that a delete may take, so that the seed's own contact stays for every other case. */
  expendable: string[];
  /** A real cursor, for `after`/`before`. */
  cursor: string;
}

// ---------------------------------------------------------------------------------------
// Slots: the places in a request a hostile value can go, and what was plausible there.
// ---------------------------------------------------------------------------------------

type Path = (string | number)[];
type Kind = "string" | "id" | "int" | "float" | "boolean" | "enum" | "datetime" | "json" | "object" | "list";
/** GraphQL variables and REST bodies are JSON; query strings and paths hold text only. */
type Where = "json" | "query" | "path";

interface Slot {
  where: Where;
  /** Inside the variables, body, query or path parameters; [] is the whole of it. */
  path: Path;
  kind: Kind;
  required: boolean;
  valid: unknown;
  enumValues?: string[];
  row?: RowType;
  idStyle?: IdStyle;
}

/** What generating one request needs, and where it records its slots. */
interface Gen {
  rng: Rng;
  world: World;
  slots: Slot[];
  /** The operation or route, to tell what an `id` names. */
  context: string;
  /** A delete operation: its own id is an expendable contact. */
  deletes: boolean;
  /** Round-robin position in world.expendable, shared across cases. */
  expendableNext: { value: number };
}

function plausibleString(g: Gen, name: string): string {
  if (/email/i.test(name)) return `fuzz${g.rng.int(1e6)}@example.com`;
  if (/phone/i.test(name)) return "+48111222333";
  if (/language/i.test(name)) return g.rng.pick(["en", "pl", "en-US"]);
  if (/colou?r/i.test(name)) return "#3366ff";
  if (/identifier/i.test(name)) return `+4860${String(g.rng.int(1e7)).padStart(7, "0")}`;
  if (/search/i.test(name)) return g.rng.pick(["Ada", "ada@example.com", "Ada Lovelace", "+48111"]);
  if (/content|prompt|notes/i.test(name)) return "Hello there";
  if (/operator/i.test(name)) return "olga";
  if (/^(after|before)$/.test(name)) return g.world.cursor;
  return `Fuzz ${g.rng.int(1e6)}`;
}

function plausibleDate(name: string): string {
  if (/end|^to$/i.test(name)) return "2031-01-01T11:00:00Z";
  if (/expires/i.test(name)) return "2031-06-01T00:00:00Z";
  if (/^from$/i.test(name)) return "2030-01-01T00:00:00Z";
  return "2031-01-01T10:00:00Z";
}

function plausibleInt(g: Gen, name: string, min?: number, max?: number): number {
  if (min !== undefined && max !== undefined) return min + g.rng.int(max - min + 1);
  if (/^(first|last|limit|per_page)$/.test(name)) return 1 + g.rng.int(10);
  if (/^(offset)$/.test(name)) return g.rng.int(3);
  if (/^page$/.test(name)) return 1 + g.rng.int(2);
  if (/score/.test(name)) return g.rng.int(101);
  return min ?? 3;
}

function plausibleId(g: Gen, name: string, style: IdStyle): { row: RowType; id: string } {
  const row = rowOf(name, g.context) ?? g.rng.pick(ROW_TYPES);
  const uuid =
    g.deletes && row === "Contact" ? g.world.expendable[g.expendableNext.value++ % g.world.expendable.length]! : g.world.own[row];
  return { row, id: writeId(row, uuid, style) };
}

const plausibleJson = (g: Gen) => ({ source: "fuzz", visits: g.rng.int(100), tags: ["a", "b"] });

/** A plausible value for a GraphQL input type, recording a slot for it and everything inside. */
function graphqlValue(g: Gen, type: GraphQLInputType, name: string, path: Path): unknown {
  const required = isNonNullType(type);
  const inner = isNonNullType(type) ? type.ofType : type;
  const slot = (kind: Kind, valid: unknown, extra: Partial<Slot> = {}) => {
    g.slots.push({ where: "json", path, kind, required, valid, ...extra });
    return valid;
  };
  if (isListType(inner)) {
    const list = [graphqlValue(g, inner.ofType, name, [...path, 0])];
    return slot("list", list);
  }
  if (isInputObjectType(inner)) {
    const object: Record<string, unknown> = {};
    slot("object", object);
    for (const field of Object.values(inner.getFields())) {
      if (isNonNullType(field.type) || g.rng.chance(0.5)) object[field.name] = graphqlValue(g, field.type, field.name, [...path, field.name]);
    }
    return object;
  }
  if (isEnumType(inner)) {
    const values = inner.getValues().map((value) => value.name);
    return slot("enum", g.rng.pick(values), { enumValues: values });
  }
  switch (inner.name) {
    case "ID": {
      const { row, id } = plausibleId(g, name, "global");
      return slot("id", id, { row, idStyle: "global" });
    }
    case "Int":
      return slot("int", plausibleInt(g, name));
    case "Float":
      return slot("float", 1.5);
    case "Boolean":
      return slot("boolean", true);
    case "DateTime":
      return slot("datetime", plausibleDate(name));
    case "Date":
      return slot("string", "2031-01-01");
    case "Decimal":
      return slot("string", "1250.50");
    case "JSON":
      return slot("json", plausibleJson(g));
    default:
      return slot("string", plausibleString(g, name));
  }
}

/** A JSON schema as the OpenAPI documents write them (the parts this test reads). */
interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  pattern?: string;
  format?: string;
  description?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
}

const isIdLike = (name: string, schema: JsonSchema) =>
  /(^|_)ids?$|Ids?$/.test(name) || schema.format === "uuid" || /^uuid$/i.test(schema.description ?? "") || /^\^\w+_\[/.test(schema.pattern ?? "");

/** A plausible value for a documented schema (a body, a query or a path parameter), recording its slots. */
function restValue(g: Gen, schema: JsonSchema, name: string, path: Path, required: boolean, where: Where): unknown {
  const options = (schema.anyOf ?? [schema]).filter((option) => option.type !== "null");
  const s = g.rng.pick(options.length > 0 ? options : [schema]);
  const type = Array.isArray(s.type) ? s.type.find((each) => each !== "null") : s.type;
  const slot = (kind: Kind, valid: unknown, extra: Partial<Slot> = {}) => {
    g.slots.push({ where, path, kind, required, valid, ...extra });
    return valid;
  };
  if (Array.isArray(s.enum)) {
    const values = s.enum.map(String);
    return slot("enum", g.rng.pick(values), { enumValues: values });
  }
  if (type === "object") {
    if (!s.properties) return slot("json", plausibleJson(g));
    const object: Record<string, unknown> = {};
    slot("object", object);
    const needed = new Set(s.required ?? []);
    for (const [key, property] of Object.entries(s.properties)) {
      if (needed.has(key) || g.rng.chance(0.5)) object[key] = restValue(g, property, key, [...path, key], needed.has(key), where);
    }
    return object;
  }
  if (type === "array") return slot("list", [restValue(g, s.items ?? {}, name, [...path, 0], true, where)]);
  if (type === "integer" || type === "number") return slot(type === "integer" ? "int" : "float", plausibleInt(g, name, s.minimum, s.maximum));
  if (type === "boolean") return slot("boolean", true);
  if (s.format === "date-time") return slot("datetime", plausibleDate(name));
  if (isIdLike(name, s)) {
    const style: IdStyle = /^\^\w+_/.test(s.pattern ?? "") ? "global" : "bare";
    const { row, id } = plausibleId(g, name, style);
    return slot("id", id, { row, idStyle: style });
  }
  // Whole numbers in query strings (page, per_page, limit, offset) are documented as digits.
  if (s.pattern === "^\\d+$") return slot("int", String(plausibleInt(g, name)));
  let text = s.format === "email" ? `fuzz${g.rng.int(1e6)}@example.com` : plausibleString(g, name);
  if (s.pattern && !new RegExp(s.pattern).test(text)) text = ["en", "x", "1"].find((candidate) => new RegExp(s.pattern!).test(candidate)) ?? text;
  return slot("string", text.padEnd(s.minLength ?? 1, "x"));
}

// ---------------------------------------------------------------------------------------
// Hostile classes: each applies to some slots and offers values to put there.
// ---------------------------------------------------------------------------------------

interface HostileClass {
  name: string;
  applies(slot: Slot): boolean;
  values(slot: Slot, world: World, rng: Rng): unknown[];
}

const TEXTUAL: Kind[] = ["string", "id", "enum", "datetime"];
const textOf = (slot: Slot) => (typeof slot.valid === "string" ? slot.valid : "x");
const firstOf = (slot: Slot) => (Array.isArray(slot.valid) ? slot.valid[0] : "x");

const ODD_NUMBERS: unknown[] = [
  2_147_483_648,
  -2_147_483_649,
  1e308,
  -1,
  0,
  1.5,
  -0.5,
  new RawJson("1e400"),
  new RawJson("-0"),
  new RawJson("9007199254740993"),
  new RawJson("1E2"),
  "NaN",
  "Infinity",
  "-Infinity",
  "1e3",
  "0x10",
  " 5",
];
const ODD_NUMBER_TEXTS = ["-1", "0", "1e400", "99999999999999999999", "1.5", "NaN", "Infinity", "0x10", " 1", "+1", "１", "2147483648"];
const BAD_DATES = [
  "2030-02-30T10:00:00Z",
  "0000-01-01T00:00:00Z",
  "9999-12-31T23:59:59-12:00",
  "+275760-09-13T00:00:00.001Z",
  "-000001-01-01T00:00:00Z",
  "not a date",
  "2030-01-01",
  "2030-01-01T10:00:00",
  "2030-01-01T25:61:61Z",
  "2030-01-01T10:00:00+99:99",
  "1e10",
];
const PERCENT_GARBAGE = ["%", "%zz", "%00", "%ED%A0%80", "%C0%AF", "%2F", "..%2F..%2F", "%25%32%35", "%E2%82", "%FF%FE", "%u0000"];
const WRONG_TYPE: Record<Kind, unknown[]> = {
  string: [42, true, {}, ["x"]],
  id: [42, true, {}, ["x"]],
  enum: [1, true, {}, ["OPEN"]],
  datetime: [1_700_000_000_000, true, {}, []],
  int: ["5", true, {}, [], 1.5],
  float: ["1.5", true, {}],
  boolean: ["true", 1, {}],
  json: [[1, 2], "text", 42, true],
  object: ["text", 42, [], true],
  list: ["x", 42, {}],
};

/** A copy of an object with fields nobody documented, JavaScript's own names among them. */
function withUnknownFields(valid: unknown, where: Where): unknown {
  const copy: Record<string, unknown> = { ...(valid as Record<string, unknown>), unknownField: "x", toString: "x" };
  setAt(copy, ["constructor"], where === "json" ? { prototype: { polluted: true } } : "x");
  setAt(copy, [where === "json" ? "__proto__" : "hasOwnProperty"], where === "json" ? { polluted: true } : "x");
  return copy;
}

function malformedIds(slot: Slot, world: World): string[] {
  const row = slot.row!;
  const uuid = world.own[row];
  const prefix = PREFIX[row];
  return [
    "nope",
    `${prefix}_`,
    `${prefix}_${uuid.toUpperCase()}`,
    `${prefix}_${uuid}_x`,
    ` ${writeId(row, uuid, slot.idStyle!)}`,
    uuid.replace(/-/g, ""),
    `${prefix}_${uuid.slice(0, -1)}`,
    slot.idStyle === "global" ? uuid : `${prefix}_${uuid}`,
    "0",
    "-1",
    "999999999999",
    `${prefix}_' OR '1'='1`,
    "../../etc/passwd",
    `ten_${uuid}`,
  ];
}

const CLASSES: HostileClass[] = [
  {
    name: "NUL",
    applies: (s) => TEXTUAL.includes(s.kind) || s.kind === "json" || (s.kind === "int" && s.where !== "json"),
    values: (s) =>
      s.kind === "json"
        ? [{ "k\u0000": "v" }, { k: "v\u0000" }, { nested: { list: ["a\u0000b"] } }]
        : [`${textOf(s)}\u0000`, `\u0000${textOf(s)}`, `${textOf(s).slice(0, 1)}\u0000${textOf(s).slice(1)}`, "\u0000"],
  },
  {
    name: "lone surrogate",
    applies: (s) => TEXTUAL.includes(s.kind) || s.kind === "json",
    values: (s) => {
      if (s.where !== "json") return [new RawUrl(`${encodeURIComponent(textOf(s))}%ED%A0%80`), new RawUrl("%ED%B0%80")];
      return s.kind === "json" ? [{ k: "\ud800" }, { "\udc00": 1 }, { k: ["a\ud83d"] }] : [`${textOf(s)}\ud800`, "\udfff", "a\ud83db"];
    },
  },
  {
    name: "very long",
    applies: (s) => TEXTUAL.includes(s.kind) || s.kind === "json" || s.kind === "list",
    values: (s) => {
      if (s.kind === "json") return [{ blob: "x".repeat(17_000) }, Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`k${i}`, i]))];
      if (s.kind === "list") return [Array.from({ length: 201 }, () => firstOf(s)), Array.from({ length: 5_000 }, () => firstOf(s))];
      // Over Node's 16 KB header limit, Node's parser refuses the request (431, see answerClientError).
      if (s.where !== "json") return ["x".repeat(2_000), "x".repeat(12_000), "x".repeat(20_000)];
      return ["x".repeat(201), "ż".repeat(10_001), "x".repeat(70_000)];
    },
  },
  {
    name: "10,000 levels deep",
    applies: (s) => s.where === "json",
    values: (s) => (s.kind === "json" || s.kind === "object" ? [deepObject(), deepArray()] : [deepArray()]),
  },
  { name: "wrong type", applies: (s) => s.where === "json", values: (s) => WRONG_TYPE[s.kind] },
  { name: "null", applies: (s) => s.where === "json", values: () => [null] },
  {
    name: "odd number",
    applies: (s) => s.kind === "int" || s.kind === "float",
    values: (s) => (s.where === "json" ? ODD_NUMBERS : ODD_NUMBER_TEXTS),
  },
  {
    name: "empty",
    applies: (s) => s.kind !== "int" && s.kind !== "float" && s.kind !== "boolean" && !(s.kind === "object" && s.where !== "json"),
    values: (s) => (s.kind === "object" || s.kind === "json" ? [{}] : s.kind === "list" ? [[]] : [""]),
  },
  { name: "unknown fields", applies: (s) => s.kind === "object", values: (s) => [withUnknownFields(s.valid, s.where)] },
  {
    name: "bad enum value",
    applies: (s) => s.kind === "enum",
    values: (s) => {
      const valid = textOf(s);
      const otherCase = valid === valid.toUpperCase() ? valid.toLowerCase() : valid.toUpperCase();
      return ["NOT_A_VALUE", otherCase, "", ` ${valid}`, `${valid} `, "__proto__", "constructor", "toString"];
    },
  },
  { name: "bad date", applies: (s) => s.kind === "datetime", values: () => BAD_DATES },
  { name: "another tenant's id", applies: (s) => s.kind === "id", values: (s, w) => [writeId(s.row!, w.foreign[s.row!], s.idStyle!)] },
  { name: "unknown id", applies: (s) => s.kind === "id", values: (s, _w, rng) => [writeId(s.row!, rng.uuid(), s.idStyle!)] },
  {
    name: "id of another type",
    applies: (s) => s.kind === "id",
    values: (s, w) => ROW_TYPES.filter((row) => row !== s.row).map((row) => writeId(row, w.own[row], s.idStyle!)),
  },
  { name: "malformed id", applies: (s) => s.kind === "id", values: (s, w) => malformedIds(s, w) },
  { name: "missing", applies: (s) => s.required && s.path.length > 0, values: () => [DROP] },
  {
    name: "percent-encoding garbage",
    applies: (s) => s.where !== "json" && s.path.length > 0,
    values: (s) => [...PERCENT_GARBAGE.map((text) => new RawUrl(text)), new RawUrl(`${encodeURIComponent(textOf(s))}%`)],
  },
  {
    name: "repeated parameter",
    applies: (s) => s.where === "query" && s.path.length > 0,
    values: (s) => [[s.valid, s.valid], [s.valid, "x"]],
  },
];

/** Puts one hostile value into one slot; returns the class and where it went. */
function mutate(rng: Rng, world: World, slots: Slot[], roots: Record<Where, unknown>): { input: string; at: string; foreign: boolean } {
  const slot = rng.pick(slots);
  const applicable = CLASSES.filter((each) => each.applies(slot));
  const hostile = rng.pick(applicable);
  roots[slot.where] = setAt(roots[slot.where], slot.path, rng.pick(hostile.values(slot, world, rng)));
  const at = slot.path.length === 0 ? `(the whole ${slot.where === "json" ? "body" : slot.where})` : slot.path.join(".");
  return { input: hostile.name, at: slot.where === "json" ? at : `${slot.where} ${at}`, foreign: hostile.name === "another tenant's id" };
}

// ---------------------------------------------------------------------------------------
// Requests.
// ---------------------------------------------------------------------------------------

interface HttpRequest {
  method: string;
  /** From the origin, with the query string. */
  path: string;
  headers: Record<string, string>;
  body?: string;
}

interface Case {
  /** The GraphQL operation or REST route, e.g. "GraphQL mutation createContact", "REST veleria PUT /contacts/{id}". */
  target: string;
  /** The hostile class, or "valid". */
  input: string;
  /** Where the hostile value went, or what the variant was. */
  at: string;
  /** A request that may write: it must write nothing when refused. */
  write: boolean;
  /** Names the other tenant's rows: that tenant is checked too. */
  foreign: boolean;
  /** For GraphQL: the root field, whose data is null when the operation was refused. */
  field?: string;
  request: HttpRequest;
}

const encodeUrl = (value: unknown) => (value instanceof RawUrl ? value.text : encodeURIComponent(String(value)));

/** Bearer values a careless or hostile caller sends instead of a good token. */
function badAuthorizations(rng: Rng, format: TokenFormat | undefined, otherFormatToken: string): (string | undefined)[] {
  const hex = (n: number) => Array.from({ length: n }, () => rng.int(16).toString(16)).join("");
  const bogusOfFormat: Record<TokenFormat, string> = {
    VELERIA: `vela_live_sk_${"A1b2C3d4E5".repeat(4)}`,
    CONVO: `convo_${hex(32)}`,
    VOREL: `vapk_live_${hex(48)}`,
    VELENTS_SUPPORT: `Velents_${rng.uuid()}_PersonalAccessToken_${"A1b2C3d4E5".repeat(4)}`,
    VELENTS_AGENT: `agentsa_${hex(48)}`,
  };
  return [
    undefined,
    "Bearer",
    "Bearer ",
    "Bearer garbage",
    "Basic dXNlcjpwYXNz",
    `Bearer ${bogusOfFormat[format ?? "CONVO"]}`,
    `Bearer ${bogusOfFormat.VELENTS_AGENT}`,
    `Bearer ${otherFormatToken}`,
    `Bearer ${"x".repeat(5_000)}`,
  ];
}

/** Replaces the Authorization header (or removes it, for undefined). */
function withAuthorization(request: HttpRequest, value: string | undefined): HttpRequest {
  const { authorization: _, ...headers } = request.headers;
  return { ...request, headers: value === undefined ? headers : { ...headers, authorization: value } };
}

// ---------------------------------------------------------------------------------------
// GraphQL cases, from the executable schema.
// ---------------------------------------------------------------------------------------

interface Operation {
  kind: "query" | "mutation";
  field: GraphQLField<unknown, unknown>;
}

const OPERATIONS: Operation[] = [
  ...Object.values(schema.getQueryType()!.getFields()).map((field) => ({ kind: "query" as const, field })),
  ...Object.values(schema.getMutationType()!.getFields()).map((field) => ({ kind: "mutation" as const, field })),
];

/**
 * A small selection: every leaf field without required arguments; at the top, single objects
 * one level down (a token's tenant, a booking's contact); a connection through edges and node.
 * Nested connections (a contact's bookings) are left out: they cost time and add no input.
 */
function selectionOf(type: GraphQLOutputType, depth = 0): string {
  const named = getNamedType(type);
  if (isLeafType(named)) return "";
  if (isUnionType(named)) return "{ __typename }";
  const fields = Object.values(named.getFields()).filter((field) => field.args.every((arg) => !isNonNullType(arg.type)));
  const parts = ["__typename"];
  for (const field of fields) {
    const inner = getNamedType(field.type);
    if (isLeafType(inner)) parts.push(field.name);
    else if ((field.name === "edges" || field.name === "node") && depth < 3) parts.push(`${field.name} ${selectionOf(field.type, depth + 1)}`);
    else if (depth === 0 && field.args.length === 0 && !isListType(isNonNullType(field.type) ? field.type.ofType : field.type)) {
      parts.push(`${field.name} ${selectionOf(field.type, 1)}`);
    }
  }
  return `{ ${parts.join(" ")} }`;
}

/** The operation's document: arguments inline as literals where asked and possible, else as variables. */
function graphqlDocument(op: Operation, args: GraphQLArgument[], variables: unknown, inline: boolean): { document: string; variables: unknown } {
  const definitions: string[] = [];
  const argumentsText: string[] = [];
  const remaining = variables !== null && typeof variables === "object" && !Array.isArray(variables) && !(variables instanceof RawJson) ? { ...(variables as Record<string, unknown>) } : undefined;
  for (const arg of args) {
    const literal = inline && remaining && arg.name in remaining ? toLiteral(remaining[arg.name], arg.type) : undefined;
    if (literal !== undefined) {
      argumentsText.push(`${arg.name}: ${literal}`);
      delete remaining![arg.name];
    } else {
      definitions.push(`$${arg.name}: ${String(arg.type)}`);
      argumentsText.push(`${arg.name}: $${arg.name}`);
    }
  }
  const definitionText = definitions.length ? `(${definitions.join(", ")})` : "";
  const argumentText = argumentsText.length ? `(${argumentsText.join(", ")})` : "";
  const document = `${op.kind} Fuzz${definitionText} { ${op.field.name}${argumentText} ${selectionOf(op.field.type)} }`;
  return { document, variables: remaining ?? variables };
}

const graphqlBody = (document: unknown, variables: unknown, extra = "") => `{"query":${toJson(document)},"variables":${toJson(variables)}${extra}}`;

/** Request-level variants: the body, the document, the headers, the method, the token. */
function graphqlVariants(rng: Rng, document: string, variables: unknown, base: HttpRequest, otherToken: string): [string, () => HttpRequest][] {
  const body = (text: string): HttpRequest => ({ ...base, body: text });
  const header = (name: string, value: string | undefined): HttpRequest => {
    const { [name]: _, ...headers } = base.headers;
    return { ...base, headers: value === undefined ? headers : { ...headers, [name]: value } };
  };
  const get = (query: string, token: boolean): HttpRequest => ({
    method: "GET",
    path: `/graphql?${query}`,
    headers: token ? { accept: "application/json", authorization: base.headers.authorization! } : { accept: "application/json" },
  });
  const q = `query=${encodeURIComponent(document)}`;
  const validBody = base.body!;
  return [
    ["body not JSON", () => body(rng.pick(["{", "", " ", `${validBody.slice(0, -1)}`, `${validBody}garbage`, `\uFEFF${validBody}`]))],
    ["body not an object", () => body(rng.pick(["null", "[]", "42", '"query"', "true", `[${validBody}]`]))],
    ["body 10,000 levels deep", () => body(rng.pick([deepArray(), deepObject()]).json)],
    ["query not a string", () => body(rng.pick(['{"query":42}', '{"query":null}', '{"query":["{ viewer { scopes } }"]}', "{}", '{"variables":{}}']))],
    ["variables not an object", () => body(graphqlBody(document, rng.pick(["notjson", [], 42, "{}", true])))],
    ["extensions not an object", () => body(graphqlBody(document, variables, `,"extensions":${rng.pick(['"notjson"', "[]", "42"])}`))],
    ["odd operationName", () => body(graphqlBody(document, variables, `,"operationName":${rng.pick(["42", '"Other"', '"\\u0000"', "{}"])}`))],
    ["NUL in the document", () => body(graphqlBody(rng.pick([document.replace(" ", "\u0000 "), `${document}\u0000`, document.replace("{", "{ \u0000")]), variables))],
    ["lone surrogate in the document", () => body(graphqlBody(rng.pick([`${document} # \ud800`, document.replace("Fuzz", "Fuzz\udc00")]), variables))],
    ["content type", () => header("content-type", rng.pick(["APPLICATION/JSON", "application/graphql-response+json", "application/json; charset=utf-16", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data", undefined]))],
    ["accept", () => header("accept", rng.pick(["text/html", "application/xml", "application/graphql-response+json", "*/*", "image/png", undefined]))],
    [
      "GET",
      () =>
        rng.pick([
          get(`${q}&variables=${encodeURIComponent(toJson(variables))}`, true),
          get(`${q}&variables=notjson`, true),
          get(`${q}&variables=notjson`, false),
          get(`${q}&extensions=notjson`, false),
          get(`${q}&variables=%ED%A0%80`, true),
          get(`${q}&query=%00`, true),
          get("variables=%7B%7D", true),
        ]),
    ],
    ["authorization", () => withAuthorization(base, rng.pick(badAuthorizations(rng, undefined, otherToken)))],
  ];
}

function graphqlCase(rng: Rng, world: World, op: Operation, token: string, otherToken: string, expendableNext: { value: number }): Case {
  const g: Gen = { rng, world, slots: [], context: op.field.name, deletes: op.field.name.startsWith("delete"), expendableNext };
  const variables: Record<string, unknown> = {};
  g.slots.push({ where: "json", path: [], kind: "object", required: true, valid: variables });
  const args = op.field.args.filter((arg) => isNonNullType(arg.type) || rng.chance(/^(after|before)$/.test(arg.name) ? 0.1 : 0.5));
  for (const arg of args) variables[arg.name] = graphqlValue(g, arg.type, arg.name, [arg.name]);

  const target = `GraphQL ${op.kind} ${op.field.name}`;
  const base = (document: string, vars: unknown): HttpRequest => ({
    method: "POST",
    path: "/graphql",
    headers: { "content-type": "application/json", accept: "application/json", authorization: `Bearer ${token}` },
    body: graphqlBody(document, vars),
  });
  const common = { target, write: op.kind === "mutation", field: op.field.name };
  const roll = rng.int(100);
  if (roll < 10) {
    const { document } = graphqlDocument(op, args, variables, false);
    return { ...common, input: "valid", at: "", foreign: false, request: base(document, variables) };
  }
  if (roll < 25) {
    const { document } = graphqlDocument(op, args, variables, false);
    const [name, make] = rng.pick(graphqlVariants(rng, document, variables, base(document, variables), otherToken));
    const request = make();
    return { ...common, input: name, at: describeVariant(request, base(document, variables)), foreign: false, request };
  }
  const roots: Record<Where, unknown> = { json: variables, query: undefined, path: undefined };
  const { input, at, foreign } = mutate(rng, world, g.slots, roots);
  // Some cases put the arguments into the document instead: literals take another path (parseLiteral).
  const inline = rng.chance(0.2);
  const { document, variables: rest } = graphqlDocument(op, args, roots.json, inline);
  return { ...common, input: inline ? `${input} (inline literal)` : input, at, foreign, request: base(document, rest) };
}

// ---------------------------------------------------------------------------------------
// REST cases, from the served OpenAPI documents.
// ---------------------------------------------------------------------------------------

interface OpenApiParameter {
  name: string;
  in: "path" | "query";
  required?: boolean;
  schema: JsonSchema;
}
interface OpenApiOperation {
  parameters?: OpenApiParameter[];
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
}

interface RestRoute {
  dialect: Dialect;
  method: string;
  /** As the document writes it: /contacts/{id}. */
  template: string;
  operation: OpenApiOperation;
  token: string;
  /** The same tenant's token of another dialect's format. */
  otherToken: string;
}

const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];

function restPath(route: RestRoute, base: string, params: Record<string, unknown>, query: unknown): string {
  const path = route.template.replace(/\{(\w+)\}/g, (_, name: string) => (params[name] === undefined ? "" : encodeUrl(params[name])));
  const pairs: string[] = [];
  if (query !== null && typeof query === "object") {
    for (const [key, value] of Object.entries(query)) {
      if (value === undefined) continue;
      for (const each of Array.isArray(value) ? value : [value]) pairs.push(`${encodeURIComponent(key)}=${encodeUrl(each)}`);
    }
  }
  return `${base}${path}${pairs.length ? `?${pairs.join("&")}` : ""}`;
}

function restVariants(rng: Rng, route: RestRoute, request: HttpRequest): [string, () => HttpRequest][] {
  const withBody = (text: string): HttpRequest => ({ ...request, headers: { ...request.headers, "content-type": "application/json" }, body: text });
  const [pathOnly, queryString] = request.path.split("?") as [string, string | undefined];
  const variants: [string, () => HttpRequest][] = [
    ["authorization", () => withAuthorization(request, rng.pick(badAuthorizations(rng, route.dialect.formats[0], route.otherToken)))],
    [
      "path shape",
      () => ({
        ...request,
        path: rng.pick([`${pathOnly}/`, pathOnly.toUpperCase(), `${pathOnly}/extra`, pathOnly.replace(/\/(?=[^/]*$)/, "//"), `${pathOnly}/%2e%2e/%2e%2e`, `${pathOnly};x=1`]),
      }),
    ],
    [
      "query-string garbage",
      () => ({ ...request, path: `${pathOnly}?${rng.pick(["%", "%zz=1", "=&&=", "a=%00", "a[b]=1&a[c]=2", "a=1&".repeat(2_000), `${queryString ?? ""}&&&`])}` }),
    ],
    [
      "other method",
      () => {
        const method = rng.pick([...HTTP_METHODS.filter((each) => each !== route.method), "OPTIONS"]);
        const body = method === "GET" || method === "OPTIONS" || method === "DELETE" ? undefined : (request.body ?? "{}");
        return { ...request, method, body, headers: body === undefined ? request.headers : { ...request.headers, "content-type": "application/json" } };
      },
    ],
  ];
  if (request.method !== "GET" && request.method !== "DELETE") {
    variants.push(["body not JSON", () => withBody(rng.pick(["{", '{"a":', "\uFEFF{}", "", " ", `${request.body ?? "{}"}garbage`, "nul\u0000"]))]);
    variants.push(["body not an object", () => withBody(rng.pick(["null", "[]", "42", '"text"', "true"]))]);
  }
  return variants;
}

function restCase(rng: Rng, world: World, route: RestRoute, expendableNext: { value: number }): Case {
  const g: Gen = { rng, world, slots: [], context: route.template, deletes: route.method === "DELETE", expendableNext };
  const params: Record<string, unknown> = {};
  const query: Record<string, unknown> = {};
  g.slots.push({ where: "query", path: [], kind: "object", required: true, valid: query });
  for (const parameter of route.operation.parameters ?? []) {
    if (parameter.in === "path") {
      g.context = route.template.slice(0, route.template.indexOf(`{${parameter.name}}`));
      params[parameter.name] = restValue(g, parameter.schema, parameter.name, [parameter.name], true, "path");
      g.context = route.template;
    } else if (parameter.required || rng.chance(0.5)) {
      query[parameter.name] = restValue(g, parameter.schema, parameter.name, [parameter.name], Boolean(parameter.required), "query");
    }
  }
  const bodySchema = route.operation.requestBody?.content["application/json"]?.schema;
  const body = bodySchema ? restValue(g, bodySchema, "", [], true, "json") : undefined;

  const base = rng.pick(route.dialect.basePaths);
  const target = `REST ${route.dialect.name} ${route.method} ${route.template}`;
  const build = (roots: Record<Where, unknown>): HttpRequest => ({
    method: route.method,
    path: restPath(route, base, roots.path as Record<string, unknown>, roots.query),
    headers: { authorization: `Bearer ${route.token}`, ...(bodySchema ? { "content-type": "application/json" } : {}) },
    ...(bodySchema ? { body: toJson(roots.json) } : {}),
  });
  const roots: Record<Where, unknown> = { json: body, query, path: params };
  const isWrite = (request: HttpRequest) => request.method !== "GET" && request.method !== "OPTIONS";
  const roll = rng.int(100);
  if (roll < 10) {
    const request = build(roots);
    return { target, input: "valid", at: "", write: isWrite(request), foreign: false, request };
  }
  if (roll < 25) {
    const valid = build(roots);
    const [name, make] = rng.pick(restVariants(rng, route, valid));
    const request = make();
    return { target, input: name, at: describeVariant(request, valid), write: isWrite(request), foreign: false, request };
  }
  const { input, at, foreign } = mutate(rng, world, g.slots, roots);
  const request = build(roots);
  return { target, input, at, write: isWrite(request), foreign, request };
}

/** What a request-level variant changed, for the report. */
function describeVariant(request: HttpRequest, valid: HttpRequest): string {
  const changes: string[] = [];
  if (request.method !== valid.method) changes.push(request.method);
  if (request.path !== valid.path) changes.push(shorten(request.path, 80));
  for (const name of new Set([...Object.keys(request.headers), ...Object.keys(valid.headers)])) {
    if (request.headers[name] !== valid.headers[name]) changes.push(`${name}: ${request.headers[name] === undefined ? "(none)" : shorten(request.headers[name]!, 40)}`);
  }
  if (request.body !== valid.body && request.method === valid.method) changes.push(`body ${shorten(request.body ?? "(none)", 80)}`);
  return changes.join(", ");
}

// ---------------------------------------------------------------------------------------
// Sending and judging.
// ---------------------------------------------------------------------------------------

interface Outcome {
  status: number | "no response";
  code?: string;
  message?: string;
  /** The request was not served as asked: a write that must have written nothing. */
  refused: boolean;
  problems: string[];
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** A REST error body's code, in whichever dialect's shape it came. */
function restCode(body: unknown): string | undefined {
  if (!isObject(body)) return undefined;
  if (isObject(body.error) && typeof body.error.code === "string") return body.error.code;
  if (typeof body.statusCode === "number" && typeof body.error === "string") return `${body.statusCode} ${body.error}`;
  return undefined;
}
function restMessage(body: unknown): string | undefined {
  if (!isObject(body)) return undefined;
  if (isObject(body.error) && typeof body.error.message === "string") return body.error.message;
  return typeof body.message === "string" ? body.message : undefined;
}
/** The dialects' ways of saying "internal error" (Veleria, Vorel, Convo, Velents, GraphQL). */
const INTERNAL = /^(internal_server_error|internal_error|INTERNAL_SERVER_ERROR|5\d\d .*)$/;

async function send(origin: string, c: Case): Promise<Outcome> {
  let response: Response;
  try {
    response = await fetch(`${origin}${c.request.path}`, { method: c.request.method, headers: c.request.headers, body: c.request.body, redirect: "manual" });
  } catch (error) {
    return { status: "no response", message: String((error as Error).cause ?? error), refused: true, problems: ["no response"] };
  }
  const status = response.status;
  const contentType = response.headers.get("content-type") ?? "";
  const text = await response.text();
  let json: unknown;
  let parsed = false;
  try {
    json = JSON.parse(text);
    parsed = true;
  } catch {
    // judged below: an error must come with a JSON body
  }
  const problems: string[] = [];
  if (status >= 500) problems.push(`HTTP ${status}`);
  if (status >= 400) {
    if (text === "") problems.push("an error without a body");
    else if (!/^application\/(graphql-response\+)?json\b/i.test(contentType)) problems.push(`an error body of type ${contentType || "(none)"}`);
    else if (!parsed) problems.push("an error body that is not JSON");
  }
  if (c.field !== undefined) {
    const errors = isObject(json) && Array.isArray(json.errors) ? (json.errors as { message?: string; extensions?: { code?: string } }[]) : [];
    const internal = errors.find((error) => error.extensions?.code === "INTERNAL_SERVER_ERROR");
    if (internal) problems.push("INTERNAL_SERVER_ERROR");
    const first = internal ?? errors[0];
    const data = isObject(json) && isObject(json.data) ? json.data : undefined;
    const refused = status >= 400 || !parsed || (errors.length > 0 && (data === undefined || data[c.field] == null));
    return { status, code: first?.extensions?.code, message: first?.message, refused, problems };
  }
  const code = restCode(json);
  if (code !== undefined && INTERNAL.test(code) && status < 500) problems.push(`an internal error (${code}) as HTTP ${status}`);
  return { status, code, message: restMessage(json), refused: status >= 400 || !parsed, problems };
}

/** One line for what the server logged: an error's name, code and the last line of its message (Prisma puts the cause there). */
function logLine(value: unknown): string {
  if (!(value instanceof Error)) return String(value);
  const code = (value as { code?: unknown }).code;
  const lines = value.message.split("\n").filter((line) => line.trim() !== "");
  return `${value.name}${typeof code === "string" ? ` ${code}` : ""}: ${lines[lines.length - 1]?.trim() ?? ""}`;
}

interface Failure {
  c: Case;
  outcome: Outcome;
  problem: string;
  /** What the server logged meanwhile (the cause behind a masked error). */
  logged?: string;
}

const shorten = (text: string, max: number) => {
  // Long runs ("xxxx…", "[[[[…") read as one character and a count.
  const squeezed = text.replace(/(.)\1{19,}/gsu, (run, ch: string) => `${ch}…×${[...run].length}`);
  return squeezed.length > max ? `${squeezed.slice(0, max)}…` : squeezed;
};
const visible = (text: string) => text.replace(/[\u0000-\u001f\ud800-\udfff]/gu, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);

/** One line per distinct (target, input class, status, code, message, problem), with the smallest request that showed it. */
function summarise(failures: Failure[], tokens: Map<string, string>): string[] {
  const groups = new Map<string, { failures: Failure[]; at: Set<string> }>();
  for (const failure of failures) {
    const { c, outcome } = failure;
    const message = (outcome.message ?? "").replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, "<uuid>").slice(0, 120);
    const key = [c.target, c.input, outcome.status, outcome.code, message, failure.problem].join(" | ");
    const group = groups.get(key) ?? { failures: [], at: new Set<string>() };
    group.failures.push(failure);
    if (c.at) group.at.add(c.at);
    groups.set(key, group);
  }
  const hideTokens = (text: string) => [...tokens].reduce((out, [secret, name]) => out.split(secret).join(name), text);
  return [...groups.values()].map(({ failures: list, at }) => {
    const size = (f: Failure) => f.c.request.path.length + (f.c.request.body?.length ?? 0);
    const smallest = list.reduce((best, each) => (size(each) < size(best) ? each : best));
    const { c, outcome, problem, logged } = smallest;
    const where = at.size ? ` at ${[...at].slice(0, 4).map((each) => visible(shorten(each, 60))).join("; ")}${at.size > 4 ? `; … (${at.size})` : ""}` : "";
    const answer = `${outcome.status}${outcome.code ? ` ${outcome.code}` : ""}${outcome.message ? ` "${visible(shorten(outcome.message, 100))}"` : ""}`;
    const headers = Object.entries(c.request.headers).map(([name, value]) => `${name}: ${shorten(hideTokens(value), 60)}`).join("; ");
    const example = `${c.request.method} ${visible(shorten(c.request.path, 160))} [${hideTokens(headers)}]${c.request.body !== undefined ? ` ${visible(shorten(c.request.body, 400))}` : ""}`;
    return [
      `${list.length}× ${c.target} — ${c.input}${where} → ${answer}: ${problem}`,
      ...(logged ? [`    logged: ${visible(shorten(logged, 200))}`] : []),
      `    e.g. ${hideTokens(example)}`,
    ].join("\n");
  });
}

// ---------------------------------------------------------------------------------------
// The test.
// ---------------------------------------------------------------------------------------

let server: TestServer;
let origin: string;
let a: Seed;
let b: Seed;
let world: World;
let routes: RestRoute[];
/** Secrets in the report are replaced by these names. */
const tokenNames = new Map<string, string>();

beforeAll(async () => {
  server = await startTestServer();
  origin = server.url.replace(/\/graphql$/, "");
  a = await seedTenant(server, "Fuzz", { closed: true });
  b = await seedTenant(server, "Fuzz other", { closed: true });
  const expendable = await server.db.prisma.contact.createManyAndReturn({
    data: Array.from({ length: 40 }, (_, i) => ({ tenantId: a.tenant.id, firstName: `Expendable ${i}` })),
  });
  const page = await server.ok(a.tenant, `{ contacts(first: 1) { edges { cursor } } }`);
  world = { own: rowsOf(a), foreign: rowsOf(b), expendable: expendable.map((row) => row.id), cursor: page.contacts.edges[0].cursor };
  tokenNames.set(a.tenant.token, "<tenant's admin token>");

  const oracle = await openApiOracle(origin, dialects.map((dialect) => dialect.name));
  routes = [];
  for (const dialect of dialects) {
    const document = oracle.documents.get(dialect.name);
    if (!document) throw new Error(`/openapi/${dialect.name}.json was not served`);
    const format = dialect.formats[0]!;
    const token = await a.tenant.tokenWith(DATA_SCOPES, format);
    const otherToken = await a.tenant.tokenWith(DATA_SCOPES, format === "CONVO" ? "VELERIA" : "CONVO");
    tokenNames.set(token, `<${format} token>`);
    tokenNames.set(otherToken, `<${format === "CONVO" ? "VELERIA" : "CONVO"} token>`);
    for (const [template, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        if (HTTP_METHODS.includes(method.toUpperCase())) {
          routes.push({ dialect, method: method.toUpperCase(), template, operation: operation as OpenApiOperation, token, otherToken });
        }
      }
    }
  }
});
afterAll(() => server?.close());

/** Every case, in order, from the seed. GraphQL and REST take turns through their operations and routes. */
function generate(rng: Rng): Case[] {
  const expendableNext = { value: 0 };
  const graphqlCount = Math.round(CASES * GRAPHQL_SHARE);
  const cases: Case[] = [];
  for (let i = 0; i < graphqlCount; i += 1) {
    cases.push(graphqlCase(rng, world, OPERATIONS[i % OPERATIONS.length]!, a.tenant.token, routes[0]!.otherToken, expendableNext));
  }
  for (let i = 0; i < CASES - graphqlCount; i += 1) cases.push(restCase(rng, world, routes[i % routes.length]!, expendableNext));
  return cases;
}

const changedTables = (before: Record<string, string>, after: Record<string, string>) =>
  Object.keys(before).filter((table) => before[table] !== after[table]);

test(`fuzz: ${CASES} cases from seed ${SEED} (FUZZ_SEED, FUZZ_CASES) find no 5xx, INTERNAL_SERVER_ERROR, non-JSON error or partial write`, { timeout: Math.max(120_000, CASES * 100) }, async () => {
  const cases = generate(new Rng(SEED));
  // Every operation and route is fuzzed (a new one joins without touching this file).
  const targets = new Set(cases.map((c) => c.target));
  expect(OPERATIONS.filter((op) => !targets.has(`GraphQL ${op.kind} ${op.field.name}`)).map((op) => op.field.name), "operations without cases").toEqual([]);
  expect(routes.filter((route) => ![...targets].some((t) => t === `REST ${route.dialect.name} ${route.method} ${route.template}`)).length, "routes without cases").toBe(0);

  const failures: Failure[] = [];
  const statuses = new Map<string, number>();
  // What the server logs is what it considers a bug; the failure that caused it quotes it.
  const logged: string[] = [];
  const spy = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
    logged.push(args.map(logLine).join(" "));
  });
  let snapshots = 0;
  const snap = (tenant: Seed) => {
    snapshots += 1;
    return snapshot(server, tenant.tenant.id);
  };
  const runOne = async (c: Case) => {
    const mark = logged.length;
    const outcome = await send(origin, c);
    statuses.set(String(outcome.status), (statuses.get(String(outcome.status)) ?? 0) + 1);
    const cause = logged.slice(mark).join(" | ") || undefined;
    for (const problem of outcome.problems) failures.push({ c, outcome, problem, logged: cause });
    return { outcome, cause };
  };

  const started = Date.now();
  try {
    const initialOther = await snap(b);
    // Writes first, one at a time: a refused write's "after" snapshot is the next one's
    // "before", so a run of refusals costs one snapshot each. A write that went through
    // changed the tenant on purpose; the next write takes a fresh "before".
    let current: Record<string, string> | undefined;
    for (const c of cases.filter((each) => each.write)) {
      const before = current ?? (await snap(a));
      const { outcome, cause } = await runOne(c);
      if (!outcome.refused) {
        current = undefined;
        continue;
      }
      current = await snap(a);
      const changed = changedTables(before, current);
      if (changed.length) failures.push({ c, outcome, problem: `partial write (${changed.join(", ")} changed)`, logged: cause });
      if (c.foreign) {
        const other = changedTables(initialOther, await snap(b));
        if (other.length) failures.push({ c, outcome, problem: `wrote to the other tenant (${other.join(", ")} changed)`, logged: cause });
      }
    }

    // Reads after the writes, so that they also read back whatever the writes stored.
    const beforeReads = [await snap(a), await snap(b)];
    for (const c of cases.filter((each) => !each.write)) await runOne(c);
    const afterReads = [await snap(a), await snap(b)];
    const readChanges = [...changedTables(beforeReads[0]!, afterReads[0]!), ...changedTables(beforeReads[1]!, afterReads[1]!)];
    expect(readChanges, "read requests wrote").toEqual([]);
    expect(changedTables(initialOther, afterReads[1]!), "the other tenant's rows changed").toEqual([]);
    // Unknown fields named __proto__ and constructor must not have reached Object.prototype.
    expect(({} as Record<string, unknown>).polluted, "Object.prototype was polluted").toBeUndefined();
  } finally {
    spy.mockRestore();
  }

  const histogram = [...statuses].sort(([x], [y]) => x.localeCompare(y)).map(([status, count]) => `${status}: ${count}`).join(", ");
  console.log(`fuzz (${process.env.TEST_DATABASE}): ${cases.length} cases, ${snapshots} snapshots, ${((Date.now() - started) / 1000).toFixed(1)} s; ${histogram}`);
  const lines = summarise(failures, tokenNames);
  expect(lines, `${failures.length} failures in ${lines.length} classes (seed ${SEED}, ${CASES} cases)`).toEqual([]);
});
