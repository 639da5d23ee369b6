// Hostile input, refused cheaply and with a typed error before it can cost anything:
// JSON nested deeper than any real request, strings PostgreSQL cannot store (NUL, lone UTF-16
// surrogates), and GraphQL documents too long, too aliased or too deep to be worth parsing.
// The rules are in the README under "Hostile input".
import { maxAliasesPlugin } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthPlugin } from "@escape.tech/graphql-armor-max-depth";
import { maxDirectivesPlugin } from "@escape.tech/graphql-armor-max-directives";
import { maxTokensPlugin } from "@escape.tech/graphql-armor-max-tokens";
import { GraphQLError, Kind, visit, type ASTVisitor, type DocumentNode, type ValidationContext } from "graphql";
import type { Plugin } from "graphql-yoga";
import { badInput } from "../graphql/errors.js";

/** Deeper than any request this API documents (an input object holding a JSON field holding a few levels). */
export const MAX_JSON_DEPTH = 32;

/** Parse-time limits on GraphQL documents; GraphiQL's own introspection query fits in them. */
export const DOCUMENT_LIMITS = { tokens: 2_000, aliases: 30, directives: 20, depth: 15, nesting: 64 };

/**
 * Whether JSON text nests arrays and objects deeper than `max`, found by one pass over the
 * text that stops at the first level too deep: JSON.parse itself copes, but everything
 * downstream (variable coercion, validation, Prisma) recurses and would overflow the stack.
 */
export function jsonTooDeep(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === 0x5c) i += 1; // backslash: skip the escaped character
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) inString = true;
    else if (char === 0x5b || char === 0x7b) {
      depth += 1;
      if (depth > max) return true;
    } else if (char === 0x5d || char === 0x7d) depth -= 1;
  }
  return false;
}

/** Whether an already parsed value nests deeper than `max`; stops at the first level too deep. */
export function valueTooDeep(value: unknown, max = MAX_JSON_DEPTH, depth = 0): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (depth >= max) return true;
  for (const child of Array.isArray(value) ? value : Object.values(value)) if (valueTooDeep(child, max, depth + 1)) return true;
  return false;
}

// A NUL, or a surrogate half without its other half: PostgreSQL refuses both in text and JSON.
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why a string cannot be stored, or undefined when it can. */
export function unstorable(text: string): string | undefined {
  const match = UNSTORABLE.exec(text);
  if (!match) return undefined;
  return match[0] === "\u0000" ? "must not contain the NUL character (\\u0000)" : "must be valid Unicode (it holds a lone UTF-16 surrogate)";
}

/** The path ("input.fields.note") and reason of the first unstorable string or key in a value. */
function firstUnstorable(value: unknown, path: string): { field: string; reason: string } | undefined {
  if (typeof value === "string") {
    const reason = unstorable(value);
    return reason ? { field: path, reason } : undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  for (const [key, child] of Array.isArray(value) ? value.entries() : Object.entries(value)) {
    const field = `${path}.${key}`;
    if (typeof key === "string") {
      const reason = unstorable(key);
      if (reason) return { field, reason: `keys ${reason}` };
    }
    const found = firstUnstorable(child, field);
    if (found) return found;
  }
  return undefined;
}

/** The same for the string literals of a document, named by the argument they are in ("input.name"). */
function firstUnstorableLiteral(document: DocumentNode): { field: string; reason: string } | undefined {
  const path: string[] = [];
  let found: { field: string; reason: string } | undefined;
  visit(document, {
    enter(node) {
      if (found) return false;
      if (node.kind === Kind.ARGUMENT || node.kind === Kind.OBJECT_FIELD) path.push(node.name.value);
      if (node.kind === Kind.STRING) {
        const reason = unstorable(node.value);
        if (reason) found = { field: path.join(".") || "query", reason };
      }
      return undefined;
    },
    leave(node) {
      if (node.kind === Kind.ARGUMENT || node.kind === Kind.OBJECT_FIELD) path.pop();
    },
  });
  return found;
}

/**
 * Where each variable is first used, as an argument path ("input", "input.content"): errors
 * name the argument the caller's value went to, as the schema's own errors do, not the
 * variable that carried it.
 */
function variableArguments(document: DocumentNode): Map<string, string> {
  const path: string[] = [];
  const used = new Map<string, string>();
  visit(document, {
    enter(node) {
      if (node.kind === Kind.VARIABLE_DEFINITION) return false;
      if (node.kind === Kind.ARGUMENT || node.kind === Kind.OBJECT_FIELD) path.push(node.name.value);
      if (node.kind === Kind.VARIABLE && path.length > 0 && !used.has(node.name.value)) used.set(node.name.value, path.join("."));
      return undefined;
    },
    leave(node) {
      if (node.kind === Kind.ARGUMENT || node.kind === Kind.OBJECT_FIELD) path.pop();
    },
  });
  return used;
}

/** The typed error for an operation whose variables or literals hold what cannot be stored or is too deep. */
function inputError(document: DocumentNode, variables: Record<string, unknown> | null | undefined) {
  // Visited only once a value is refused: the common case pays nothing for the naming.
  const named = (variable: string, rest = "") => `${variableArguments(document).get(variable) ?? variable}${rest}`;
  for (const [name, value] of Object.entries(variables ?? {})) {
    if (valueTooDeep(value)) {
      const field = named(name);
      return badInput(field, `${field}: must not nest deeper than ${MAX_JSON_DEPTH} levels`);
    }
  }
  // A variable's path ".i.error" becomes the argument's "input.error".
  const inVariables = firstUnstorable(variables ?? {}, "");
  const bad = inVariables
    ? { ...inVariables, field: inVariables.field.replace(/^\.([^.]*)(.*)$/s, (_all, variable: string, rest: string) => named(variable, rest)) }
    : firstUnstorableLiteral(document);
  return bad ? badInput(bad.field, `${bad.field}: ${bad.reason}`) : undefined;
}

/**
 * Refuses, before execution, operations whose input PostgreSQL would reject or whose nesting
 * would exhaust the stack. It runs for every way an operation arrives (HTTP, WebSocket, SSE,
 * REST routes), since all of them execute through yoga's envelope.
 */
export function storableInput(): Plugin {
  return {
    // graphql-js parses recursively: 2,000 tokens of "[[[[…" overflow the stack before the
    // token limit is reached, so brackets are counted before any parsing (strings are skipped
    // as in JSON, which is enough to be safe: a miscount only refuses, it never recurses).
    // Thrown from the parse function itself, so that yoga treats it as any syntax error.
    onParse({ params, setParseFn }) {
      const source = typeof params.source === "string" ? params.source : params.source.body;
      if (jsonTooDeep(source, DOCUMENT_LIMITS.nesting)) {
        setParseFn(() => {
          throw new GraphQLError(`Syntax Error: the document nests brackets deeper than ${DOCUMENT_LIMITS.nesting} levels.`);
        });
      }
    },
    onExecute({ args, setResultAndStopExecution }) {
      const error = inputError(args.document, args.variableValues);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const error = inputError(args.document, args.variableValues);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
  };
}

/**
 * Reported like any other validation error (400, GRAPHQL_VALIDATION_FAILED): by default the
 * armor rules throw out of graphql-js's validate, which reaches the caller as a 200.
 */
const asValidationError = {
  propagateOnRejection: false,
  onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(error)],
};

/**
 * One `__schema` per document: the whole introspection answer is about 1 MB, and aliases
 * would otherwise let one small document ask for it 30 times (100+ ms) at a cost of 30 points.
 */
function oneSchemaIntrospection(context: ValidationContext): ASTVisitor {
  let seen = 0;
  return {
    Field(node) {
      if (node.name.value === "__schema" && ++seen === 2) {
        context.reportError(new GraphQLError("Introspect the schema once per request: __schema may appear only once", { nodes: [node] }));
      }
    },
  };
}

/** graphql-armor's parse- and validation-time limits (the parser stops at the token limit), and one introspection per request. */
export function documentLimits(): Plugin[] {
  return [
    { onValidate: ({ addValidationRule }) => addValidationRule(oneSchemaIntrospection) },
    maxTokensPlugin({ n: DOCUMENT_LIMITS.tokens }),
    maxAliasesPlugin({ n: DOCUMENT_LIMITS.aliases, ...asValidationError }),
    maxDirectivesPlugin({ n: DOCUMENT_LIMITS.directives, ...asValidationError }),
    maxDepthPlugin({ n: DOCUMENT_LIMITS.depth, flattenFragments: true, ...asValidationError }),
  ] as Plugin[];
}
