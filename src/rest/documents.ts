// The GraphQL operations the REST routes run: one document per dialect under schema/rest/,
// parsed and validated against the schema once, at start-up.
import { readFileSync } from "node:fs";
import { parse, validate, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from "graphql";
import type { Dialect } from "./route.js";

const DIRECTORY = new URL("../../schema/rest/", import.meta.url);

export function documentPath(dialect: Pick<Dialect, "name">): URL {
  return new URL(`${dialect.name}.graphql`, DIRECTORY);
}

/** The dialect's document; throws naming the file if it is invalid or lacks a route's operation. */
export function loadDocument(schema: GraphQLSchema, dialect: Dialect): DocumentNode {
  const file = documentPath(dialect);
  const document = parse(readFileSync(file, "utf8"));
  const errors = validate(schema, document);
  if (errors.length > 0) throw new Error(`${file.pathname}: ${errors.map((error) => error.message).join("; ")}`);
  const operations = new Set(
    document.definitions
      .filter((definition): definition is OperationDefinitionNode => definition.kind === "OperationDefinition")
      .map((operation) => operation.name?.value),
  );
  const missing = dialect.routes.filter((route) => !operations.has(route.operation));
  if (missing.length > 0) throw new Error(`${file.pathname} lacks operations: ${missing.map((route) => route.operation).join(", ")}`);
  return document;
}
