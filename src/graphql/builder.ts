// The single Pothos builder. Plugin order matters: scope-auth runs before the others wrap
// resolvers, relay before scope-auth so auth sees decoded global ids.
import SchemaBuilder from "@pothos/core";
import ComplexityPlugin from "@pothos/plugin-complexity";
import PrismaPlugin from "@pothos/plugin-prisma";
import RelayPlugin from "@pothos/plugin-relay";
import ScopeAuthPlugin, { AuthScopeFailureType, type AuthFailure } from "@pothos/plugin-scope-auth";
import ValidationPlugin from "@pothos/plugin-validation";
import type { Scope } from "../auth/scopes.js";
import type PrismaTypes from "../generated/pothos-types.js";
import { getDatamodel } from "../generated/pothos-types.js";
import type { Context } from "./context.js";
import { badInput, forbidden, tooComplex } from "./errors.js";
import { decodeId, encodeId } from "./ids.js";
import { DateScalar, DateTimeScalar, DecimalScalar, JsonScalar, type DecimalOutput } from "./scalars.js";

/** The first scope a failed check asked for, so the error can name it. */
function missingScope(failure: AuthFailure): string | undefined {
  if (failure.kind === AuthScopeFailureType.AuthScope) return String(failure.parameter);
  if (failure.kind === AuthScopeFailureType.AnyAuthScopes || failure.kind === AuthScopeFailureType.AllAuthScopes) {
    for (const child of failure.failures) {
      const scope = missingScope(child);
      if (scope) return scope;
    }
  }
  return undefined;
}

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  AuthScopes: { scope: Scope };
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    Date: { Input: Date; Output: Date };
    Decimal: { Input: string; Output: DecimalOutput };
    JSON: { Input: unknown; Output: unknown };
    ID: { Input: string; Output: string };
  };
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: false;
}>({
  plugins: [ScopeAuthPlugin, RelayPlugin, PrismaPlugin, ValidationPlugin, ComplexityPlugin],
  defaultFieldNullability: false,
  // Types need their read scope, or the "written" grant: a mutation grants it to the row it
  // returns, so an integration holding only leads:write can read back the lead it created
  // (nested objects still need their own read scopes).
  scopeAuth: {
    // Subscriptions check their scope when they start, not only on each event: a token
    // without it must not hold a stream open or learn when changes happen.
    authorizeOnSubscribe: true,
    authScopes: (context) => ({ scope: (scope: Scope) => context.viewer.scopes.has(scope) }),
    unauthorizedError: (_parent, _context, _info, result) => forbidden(missingScope(result.failure) ?? "required"),
  },
  relay: {
    cursorType: "String",
    encodeGlobalID: encodeId,
    decodeGlobalID: decodeId,
    nodesQueryOptions: false,
  },
  prisma: {
    client: (context) => context.prisma,
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    filterConnectionTotalCount: true,
    maxConnectionSize: 100,
    defaultConnectionSize: 20,
    onUnusedQuery: process.env.NODE_ENV === "production" ? null : "warn",
  },
  validation: {
    validationError: (result) => {
      const issue = result.issues[0];
      const field = (issue?.path ?? []).map((p) => (typeof p === "object" ? String(p.key) : String(p))).join(".");
      return badInput(field, issue ? `${field ? `${field}: ` : ""}${issue.message}` : "Invalid input");
    },
  },
  complexity: {
    defaultComplexity: 1,
    defaultListMultiplier: 10,
    limit: (context) => ({ depth: context.limits.maxQueryDepth, breadth: 200, complexity: 20_000 }),
    complexityError: (kind, result) => {
      const [actual, limit] = {
        Depth: [result.depth, result.maxDepth],
        Breadth: [result.breadth, result.maxBreadth],
        Complexity: [result.complexity, result.maxComplexity],
      }[kind];
      return tooComplex(`Query ${kind.toLowerCase()} ${actual} exceeds the limit of ${limit}`);
    },
  },
});

builder.addScalarType("DateTime", DateTimeScalar);
builder.addScalarType("JSON", JsonScalar);
builder.addScalarType("Date", DateScalar);
builder.addScalarType("Decimal", DecimalScalar);

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
