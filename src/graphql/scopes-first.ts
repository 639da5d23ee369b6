// A root field's scope is checked before its arguments are: graphql-js coerces variables
// before any resolver (and so any Pothos auth check) runs, which would let a token without
// `contacts:write` learn from createContact's validation messages. With this plugin such a
// token gets FORBIDDEN whatever it sends, as on the REST paths.
import { getOperationAST, GraphQLError, Kind, type DocumentNode, type FieldNode, type FragmentDefinitionNode, type GraphQLSchema, type SelectionSetNode } from "graphql";
import type { Plugin } from "graphql-yoga";
import type { Scope } from "../auth/scopes.js";
import type { Context } from "./context.js";
import { forbidden } from "./errors.js";

/** The root fields an operation selects, through fragments and inline fragments. */
function rootFields(selectionSet: SelectionSetNode, fragments: Map<string, FragmentDefinitionNode>, seen = new Set<string>()): FieldNode[] {
  return selectionSet.selections.flatMap((selection) => {
    if (selection.kind === Kind.FIELD) return [selection];
    if (selection.kind === Kind.INLINE_FRAGMENT) return rootFields(selection.selectionSet, fragments, seen);
    const fragment = fragments.get(selection.name.value);
    // A fragment named twice or not at all is validation's to report; here it adds nothing.
    if (!fragment || seen.has(fragment.name.value)) return [];
    seen.add(fragment.name.value);
    return rootFields(fragment.selectionSet, fragments, seen);
  });
}

/** The root fields whose declared scope (`authScopes: { scope }`, as every root field has) the token lacks. */
function refusedRootFields(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, scopes: ReadonlySet<Scope>) {
  const operation = getOperationAST(document, operationName);
  const root = operation && schema.getRootType(operation.operation);
  if (!operation || !root) return [];
  const fragments = new Map(
    document.definitions.filter((definition) => definition.kind === Kind.FRAGMENT_DEFINITION).map((fragment) => [fragment.name.value, fragment]),
  );
  const fields = root.getFields();
  return rootFields(operation.selectionSet, fragments).flatMap((node) => {
    const declared = (fields[node.name.value]?.extensions?.pothosOptions as { authScopes?: unknown } | undefined)?.authScopes;
    const scope = typeof declared === "object" && declared !== null ? (declared as { scope?: unknown }).scope : undefined;
    return typeof scope === "string" && !scopes.has(scope as Scope) ? [{ node, scope }] : [];
  });
}

/**
 * An operation with a root field the token may not use runs no field at all: one FORBIDDEN
 * per such field (with its path, as the resolver's check would give) and `data: null`.
 */
export function scopesFirst(): Plugin<Context> {
  const check = (schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, context: Context) => {
    const refused = refusedRootFields(schema, document, operationName, context.viewer.scopes);
    if (refused.length === 0) return undefined;
    return {
      data: null,
      errors: refused.map(({ node, scope }) => {
        const error = forbidden(scope);
        return new GraphQLError(error.message, { nodes: [node], path: [(node.alias ?? node.name).value], extensions: error.extensions });
      }),
    };
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const refusal = check(args.schema, args.document, args.operationName, args.contextValue);
      if (refusal) setResultAndStopExecution(refusal);
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const refusal = check(args.schema, args.document, args.operationName, args.contextValue);
      if (refusal) setResultAndStopExecution(refusal);
    },
  };
}
