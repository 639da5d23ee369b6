import { readFile } from "node:fs/promises";
import { expect, test } from "vitest";
import { pendingSchemaChanges, readMigrationList } from "../src/db/migrations.js";
import { printedSchema } from "../src/graphql/schema.js";

test("schema/schema.graphql is the printed schema (run npm run schema:print after a change)", async () => {
  const checkedIn = await readFile(new URL("../schema/schema.graphql", import.meta.url), "utf8");
  expect(checkedIn).toBe(printedSchema());
});

test("prisma/migrations matches prisma/schema.prisma (run npm run migrate:new -- <name> after a change)", async () => {
  expect(await pendingSchemaChanges(await readMigrationList())).toBeUndefined();
});
