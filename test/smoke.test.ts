import { afterAll, beforeAll, expect, test } from "vitest";
import { startTestServer, type TestServer } from "./harness.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

test("viewer names the token's tenant", async () => {
  const tenant = await server.createTenant("Acme");
  const result = await server.gql(`{ viewer { tenant { name slug } } }`, {}, tenant.token);
  expect(result.errors).toBeUndefined();
  expect(result.data?.viewer.tenant).toEqual({ name: "Acme", slug: tenant.slug });
});
