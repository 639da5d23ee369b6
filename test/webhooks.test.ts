// Webhooks end to end: a change through the API, its event through the outbox and pg-boss, a
// real receiving server, and each dialect's signature checked by an implementation of its own
// (the standardwebhooks package, node:crypto). Retries, dead letters, redelivery, rollback,
// refused targets and two instances on one database.
import { createHmac } from "node:crypto";
import PgBoss from "pg-boss";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { loadConfig } from "../src/config.js";
import { leadEvent } from "../src/events/events.js";
import { createWebhooks } from "../src/webhooks/engine.js";
import { eventually, startTestServer, waitUntil, type TestServer, type TestTenant } from "./harness.js";
import { startReceiver, type Receiver } from "./webhook-receiver.js";

let server: TestServer;
let receiver: Receiver;
const WAIT = 20_000;

beforeAll(async () => {
  receiver = await startReceiver();
  server = await startTestServer({
    env: { WEBHOOK_RETRY_DELAYS: "0.1,0.1,0.1,0.1,0.1", WEBHOOK_TIMEOUT_MS: "2000", WEBHOOK_POLL_MS: "500", WEBHOOK_DISABLE_AFTER: "3" },
  });
});
afterAll(async () => {
  await server?.close();
  await receiver?.close();
});

async function register(tenant: TestTenant, dialect: string, path: string, events: string[]) {
  const data = await server.ok(
    tenant,
    `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } signingSecret } }`,
    { input: { dialect, url: `${receiver.url}${path}`, events } },
  );
  return { id: data.createWebhookEndpoint.endpoint.id as string, secret: data.createWebhookEndpoint.signingSecret as string };
}

const DELIVERIES = `query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { status disabledReason consecutiveFailures
  deliveries(first: 50) { edges { node { id eventName status attemptCount nextAttemptAt payload
    attempts { number statusCode durationMs error nextAttemptAt } } } } } } }`;

async function deliveries(tenant: TestTenant, endpointId: string, on = server) {
  const data = await on.ok(tenant, DELIVERIES, { id: endpointId });
  return { endpoint: data.node, list: data.node.deliveries.edges.map((edge: any) => edge.node) as any[] };
}

/** Resolves once the endpoint's deliveries satisfy `condition`, polling the API. */
const deliveriesUntil = (tenant: TestTenant, endpointId: string, condition: (list: any[]) => boolean, on = server) =>
  eventually(async () => (await deliveries(tenant, endpointId, on)).list, condition, "the deliveries to match", WAIT);

const createContact = (tenant: TestTenant, firstName: string) =>
  server.ok(tenant, `mutation($input: ContactInput!) { createContact(input: $input) { id } }`, { input: { firstName, email: `${firstName.toLowerCase()}@example.com` } });

describe("each dialect's shape and signature, verified independently", () => {
  test("Vorel: lead.created then lead.qualified, X-Webhook-Signature = lowercase hex HMAC-SHA256 of the raw body, a stable id", async () => {
    const tenant = await server.createTenant("Vorel hooks");
    const { id: endpointId, secret } = await register(tenant, "VOREL", "/vorel", ["lead.created", "lead.qualified"]);
    expect(secret).toMatch(/^vwhsec_[0-9a-f]{64}$/);
    const created = await server.ok(tenant, `mutation { createLead(input: { source: "web", fields: { name: "Ada" } }) { id } }`);
    await server.ok(tenant, `mutation($id: ID!) { updateLeadStatus(id: $id, status: QUALIFIED) { id } }`, { id: created.createLead.id });
    // Another status change is lead.updated only, which this endpoint did not subscribe to.
    await server.ok(tenant, `mutation($id: ID!) { updateLeadStatus(id: $id, status: WON) { id } }`, { id: created.createLead.id });

    await waitUntil(() => receiver.at("/vorel").length >= 2, () => `two Vorel deliveries; have ${receiver.at("/vorel").length}`, WAIT);
    const [first, second] = receiver.at("/vorel");
    for (const request of [first!, second!]) {
      const expected = createHmac("sha256", secret).update(request.body).digest("hex");
      expect(request.headers["x-webhook-signature"]).toBe(expected);
      expect(request.headers["content-type"]).toMatch(/^application\/json/);
    }
    expect(first!.json).toMatchObject({ event: "lead.created", data: { id: created.createLead.id.replace(/^lead_/, "") } });
    expect(second!.json.event).toBe("lead.qualified");
    expect(first!.json.id).not.toBe(second!.json.id);
    // The envelope id is the delivery's: what the delivery log shows.
    const list = await deliveriesUntil(tenant, endpointId, (all) => all.length === 2 && all.every((each) => each.status === "DELIVERED"));
    expect(list.map((each) => each.id.replace(/^\w+?_/, "")).sort()).toEqual([first!.json.id, second!.json.id].sort());
    expect(receiver.at("/vorel")).toHaveLength(2);
  });

  test("Veleria: contact.created in {event, timestamp, data}, signed with Standard Webhooks (verified by the standardwebhooks package)", async () => {
    const tenant = await server.createTenant("Veleria hooks");
    const { secret } = await register(tenant, "VELERIA", "/veleria", ["contact.created"]);
    expect(secret).toMatch(/^whsec_/);
    await createContact(tenant, "Grace");
    await waitUntil(() => receiver.at("/veleria").length >= 1, () => "a Veleria delivery", WAIT);
    const request = receiver.at("/veleria")[0]!;
    const headers = Object.fromEntries(["webhook-id", "webhook-timestamp", "webhook-signature"].map((name) => [name, String(request.headers[name])]));
    const payload = new Webhook(secret).verify(request.body, headers) as any;
    expect(payload).toMatchObject({ event: "contact.created", data: { first_name: "Grace" } });
    expect(payload.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$/);
    // A body changed in transit fails verification.
    expect(() => new Webhook(secret).verify(request.body.replace("Grace", "Mallory"), headers)).toThrow();
  });

  test("Convo: conversation.closed, X-Convo-Signature = HMAC-SHA256(secret, \"<X-Convo-Timestamp>.<body>\")", async () => {
    const tenant = await server.createTenant("Convo hooks");
    const { secret } = await register(tenant, "CONVO", "/convo", ["conversation.closed"]);
    expect(secret).toMatch(/^wh_[0-9a-f]{64}$/);
    const conversation = await server.ok(tenant, `mutation { createConversation(input: { channelType: WHATSAPP, customerIdentifier: "+48500600700" }) { id } }`);
    await server.ok(tenant, `mutation($id: ID!) { updateConversation(id: $id, input: { status: CLOSED }) { id } }`, { id: conversation.createConversation.id });
    await waitUntil(() => receiver.at("/convo").length >= 1, () => "a Convo delivery", WAIT);
    const request = receiver.at("/convo")[0]!;
    const timestamp = String(request.headers["x-convo-timestamp"]);
    expect(Math.abs(Date.now() / 1000 - Number(timestamp))).toBeLessThan(300);
    expect(request.headers["x-convo-signature"]).toBe(createHmac("sha256", secret).update(`${timestamp}.${request.body}`).digest("hex"));
    expect(request.headers["x-convo-event"]).toBe("conversation.closed");
    expect(request.json).toMatchObject({ event: "conversation.closed", data: { status: "CLOSED" } });
  });

  test("Agent.sa: a dispatch's webhook gets onStarted and onEnded in the seed's shape, with its own headers and body", async () => {
    const tenant = await server.createTenant("Agent hooks");
    const agent = await server.ok(tenant, `mutation { createAgent(input: { name: "Boddy" }) { id number } }`);
    await server.ok(
      tenant,
      `mutation($input: DispatchConversationInput!) { dispatchConversation(input: $input) { id } }`,
      {
        input: {
          agentId: agent.createAgent.id,
          channelType: "VOICE",
          phone: "+201145803442",
          values: { company_name: "acme" },
          webhook: { link: `${receiver.url}/agent`, body: { call_ref: "c-1", event: "not mine" }, headers: { "x-velents-authorization": "s3cr3t" } },
        },
      },
    );
    await waitUntil(() => receiver.at("/agent").length >= 1, () => "onStarted", WAIT);
    const started = receiver.at("/agent")[0]!;
    expect(started.headers["x-velents-authorization"]).toBe("s3cr3t");
    expect(started.json).toMatchObject({
      event: { type: "onStarted", about: "conversation" },
      agent: { id: agent.createAgent.number },
      conversation: { phone: "+201145803442", values: { company_name: "acme" } },
      result: { extraction: [] },
      call_ref: "c-1",
    });
    expect(started.json.conversation.created_at).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(Number.isInteger(started.json.conversation.id)).toBe(true);

    // A second dispatch with the same webhook shares its endpoint; a batch that dispatches nothing makes none.
    const webhook = { link: `${receiver.url}/agent`, body: { event: "not mine", call_ref: "c-1" }, headers: { "x-velents-authorization": "s3cr3t" } };
    await server.ok(tenant, `mutation($input: DispatchConversationInput!) { dispatchConversation(input: $input) { id } }`, {
      input: { agentId: agent.createAgent.id, channelType: "VOICE", phone: "+201145800000", webhook },
    });
    await server.ok(tenant, `mutation($input: DispatchBatchInput!) { dispatchBatch(input: $input) { dispatched { row } } }`, {
      input: { agentId: agent.createAgent.id, channelType: "VOICE", name: "all in progress", rows: [{ phone: "+201145800000" }], webhook: { ...webhook, link: `${receiver.url}/other` } },
    });
    expect(await server.db.prisma.webhookEndpoint.count({ where: { tenantId: tenant.id, dialect: "VELENTS_AGENT" } })).toBe(1);

    const row = await server.db.prisma.conversation.findFirstOrThrow({ where: { tenantId: tenant.id, customerIdentifier: "+201145803442" } });
    await server.ok(tenant, `mutation($id: ID!) { updateConversation(id: $id, input: { status: CLOSED }) { id } }`, { id: `conv_${row.id}` });
    await waitUntil(() => receiver.at("/agent").some((request) => request.json.event.type === "onEnded"), () => "onEnded", WAIT);
    const ended = receiver.at("/agent").find((request) => request.json.event.type === "onEnded")!;
    expect(ended.json).toMatchObject({ event: { type: "onEnded", about: "conversation" }, conversation: { phone: "+201145803442" }, result: { history: [] } });
  });
});

describe("delivery", () => {
  test("a 500 is retried with backoff and every attempt is in the delivery log; a 2xx ends it", async () => {
    const tenant = await server.createTenant("Retry");
    const { id } = await register(tenant, "VELERIA", "/retry", ["contact.created"]);
    receiver.answer((request) => (request.path === "/retry" && receiver.at("/retry").length === 1 ? 500 : 200));
    await createContact(tenant, "Retry");
    const [delivery] = await deliveriesUntil(tenant, id, (list) => list[0]?.status === "DELIVERED");
    expect(delivery.attemptCount).toBe(2);
    expect(delivery.attempts).toMatchObject([{ number: 1, statusCode: 500, error: null }, { number: 2, statusCode: 200, nextAttemptAt: null }]);
    expect(delivery.attempts[0].nextAttemptAt).not.toBeNull();
    const [first, second] = receiver.at("/retry");
    // The same delivery both times: same id, same bytes (a new timestamp and signature).
    expect(second!.headers["webhook-id"]).toBe(first!.headers["webhook-id"]);
    expect(second!.body).toBe(first!.body);
    receiver.answer(() => 200);
  });

  test("a 4xx is a permanent failure: one attempt, FAILED; redelivery sends it again", async () => {
    const tenant = await server.createTenant("Reject");
    const { id } = await register(tenant, "VELERIA", "/reject", ["contact.created"]);
    receiver.answer((request) => (request.path === "/reject" ? 400 : 200));
    await createContact(tenant, "Reject");
    const [failed] = await deliveriesUntil(tenant, id, (list) => list[0]?.status === "FAILED");
    expect(failed).toMatchObject({ attemptCount: 1, nextAttemptAt: null, attempts: [{ number: 1, statusCode: 400, nextAttemptAt: null }] });
    expect(receiver.at("/reject")).toHaveLength(1);

    receiver.answer(() => 200);
    const redelivered = await server.ok(tenant, `mutation($id: ID!) { redeliverWebhook(id: $id) { id status } }`, { id: failed.id });
    expect(redelivered.redeliverWebhook.status).toBe("PENDING");
    const [done] = await deliveriesUntil(tenant, id, (list) => list[0]?.status === "DELIVERED");
    expect(done.attempts.map((attempt: any) => attempt.statusCode)).toEqual([400, 200]);
    expect(receiver.at("/reject")).toHaveLength(2);
    // A delivered one can be sent again too (a receiver that lost it); a PENDING one cannot (webhook-endpoints.test.ts).
    await server.ok(tenant, `mutation($id: ID!) { redeliverWebhook(id: $id) { id } }`, { id: done.id });
    await waitUntil(() => receiver.at("/reject").length === 3, () => "the redelivered delivery", WAIT);
    expect(new Set(receiver.at("/reject").map((request) => request.headers["webhook-id"])).size).toBe(1);
  });

  test("a receiver that keeps failing: six attempts (Vorel's ladder), then FAILED; three such deliveries in a row disable the endpoint", async () => {
    const tenant = await server.createTenant("Dead letter");
    const { id } = await register(tenant, "VELERIA", "/down", ["contact.created"]);
    receiver.answer((request) => (request.path === "/down" ? 503 : 200));
    await createContact(tenant, "Down");
    const [dead] = await deliveriesUntil(tenant, id, (list) => list[0]?.status === "FAILED");
    expect(dead.attempts.map((attempt: any) => attempt.statusCode)).toEqual([503, 503, 503, 503, 503, 503]);
    expect(dead.attempts.at(-1).nextAttemptAt).toBeNull();

    await createContact(tenant, "Down2");
    await createContact(tenant, "Down3");
    await deliveriesUntil(tenant, id, (list) => list.length === 3 && list.every((each) => each.status === "FAILED"));
    const { endpoint } = await deliveries(tenant, id);
    expect(endpoint).toMatchObject({ status: "DISABLED", consecutiveFailures: 3 });
    expect(endpoint.disabledReason).toMatch(/3 failed deliveries/);
    receiver.answer(() => 200);
  });

  test("a disabled endpoint's pending deliveries wait; enabling it sends them; redeliverFailedWebhooks recovers an outage", async () => {
    const tenant = await server.createTenant("Paused");
    const { id } = await register(tenant, "VELERIA", "/paused", ["contact.created"]);
    await server.ok(tenant, `mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: { enabled: false }) { status } }`, { id });
    // As a delivery stands once its endpoint is disabled mid-retry: PENDING, no attempt scheduled.
    const endpointId = id.replace(/^whe_/, "");
    const event = await server.db.prisma.event.create({ data: { id: crypto.randomUUID(), tenantId: tenant.id, topic: "contact", type: "CREATED", facts: {}, occurredAt: new Date() } });
    const waiting = await server.db.prisma.webhookDelivery.create({
      data: { tenantId: tenant.id, endpointId, eventId: event.id, eventName: "contact.created", body: `{"event":"contact.created"}`, attemptCount: 1 },
    });
    await server.ok(tenant, `mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: { enabled: true }) { status } }`, { id });
    const [resumed] = await deliveriesUntil(tenant, id, (list) => list[0]?.status === "DELIVERED");
    expect(resumed).toMatchObject({ id: `whd_${waiting.id}`, attemptCount: 2, attempts: [{ number: 2, statusCode: 200 }] });

    // An outage: deliveries FAILED; once the receiver is back, every one since a moment is sent again.
    const since = new Date();
    const failed = await Promise.all(
      ["a", "b"].map(async (name) => {
        const failedEvent = await server.db.prisma.event.create({ data: { id: crypto.randomUUID(), tenantId: tenant.id, topic: "contact", type: "CREATED", facts: {}, occurredAt: new Date() } });
        return server.db.prisma.webhookDelivery.create({
          data: { tenantId: tenant.id, endpointId, eventId: failedEvent.id, eventName: "contact.created", body: `{"name":"${name}"}`, status: "FAILED", attemptCount: 6 },
        });
      }),
    );
    const queued = await server.ok(tenant, `mutation($id: ID!, $since: DateTime!) { redeliverFailedWebhooks(endpointId: $id, since: $since) }`, { id, since: since.toISOString() });
    expect(queued.redeliverFailedWebhooks).toBe(2);
    await deliveriesUntil(tenant, id, (list) => list.length === 3 && list.every((each) => each.status === "DELIVERED"));
    expect(receiver.at("/paused").map((request) => request.headers["webhook-id"]).sort()).toEqual([waiting.id, ...failed.map((each) => each.id)].sort());
  });

  test("a WEBHOOK_SECRET_KEY that does not open the stored secrets stops the engine from starting", async () => {
    const tenant = await server.createTenant("Key");
    await register(tenant, "VOREL", "/key", ["lead.created"]);
    const wrongKey = createWebhooks(server.db, loadConfig({ WEBHOOK_SECRET_KEY: Buffer.alloc(32, 9).toString("base64") }));
    await expect(wrongKey.start()).rejects.toThrow(/does not open the webhook secrets/);
    await wrongKey.stop();
  });

  test("two jobs for the same attempt at once (a re-run while the first still runs): one request, one logged attempt", async () => {
    const tenant = await server.createTenant("Lease");
    const { id } = await register(tenant, "VELERIA", "/lease", ["contact.created"]);
    const endpointId = id.replace(/^whe_/, "");
    const event = await server.db.prisma.event.create({ data: { id: crypto.randomUUID(), tenantId: tenant.id, topic: "contact", type: "CREATED", facts: {}, occurredAt: new Date() } });
    const delivery = await server.db.prisma.webhookDelivery.create({
      data: { tenantId: tenant.id, endpointId, eventId: event.id, eventName: "contact.created", body: "{}", nextAttemptAt: new Date() },
    });
    // Both inserted by one statement, so one fetch takes both and runs them side by side, each
    // reading the delivery before the other has logged anything: only the lease keeps one out.
    const boss = new PgBoss({ db: server.db.jobs, schema: server.db.jobs.schema, supervise: false, schedule: false, migrate: false });
    await boss.start();
    try {
      // Keys of their own: the queue keeps one queued job per key (the service keys them by delivery).
      await boss.insert(["a", "b"].map((key) => ({ name: "webhook-deliver", data: { deliveryId: delivery.id, attempt: 1 }, singletonKey: `${delivery.id}:${key}` })));
    } finally {
      await boss.stop({ graceful: false, close: false });
    }
    const unfinished = async () =>
      Number(
        ((await server.db.jobs.executeSql(`SELECT count(*)::int AS n FROM ${server.db.jobs.schema}.job WHERE name = 'webhook-deliver' AND data->>'deliveryId' = $1 AND state < 'completed'`, [delivery.id]))
          .rows[0] as { n: number }).n,
      );
    await eventually(unfinished, (count) => count === 0, "both jobs to finish", WAIT);
    const [done] = await deliveriesUntil(tenant, id, (list) => list[0]?.status === "DELIVERED");
    expect(done.attempts).toHaveLength(1);
    expect(receiver.at("/lease")).toHaveLength(1);
  });

  test("retention: ended deliveries (with their attempts) and events older than WEBHOOK_RETENTION_DAYS go; pending ones and what they need stay", async () => {
    const tenant = await server.createTenant("Retention");
    const prisma = server.db.prisma;
    const endpoint = await prisma.webhookEndpoint.create({ data: { tenantId: tenant.id, dialect: "VOREL", url: `${receiver.url}/retention`, events: ["lead.created"], status: "DISABLED" } });
    const old = new Date(Date.now() - 31 * 86_400_000);
    const event = (occurredAt: Date) =>
      prisma.event.create({ data: { id: crypto.randomUUID(), tenantId: tenant.id, topic: "lead", type: "CREATED", facts: {}, occurredAt } });
    const delivery = async (status: "PENDING" | "DELIVERED" | "FAILED", createdAt: Date) => {
      const row = await prisma.webhookDelivery.create({
        data: { tenantId: tenant.id, endpointId: endpoint.id, eventId: (await event(createdAt)).id, eventName: "lead.created", body: "{}", status, createdAt },
      });
      await prisma.webhookAttempt.create({ data: { tenantId: tenant.id, deliveryId: row.id, number: 1, durationMs: 1 } });
      return row;
    };
    const [oldDelivered, oldFailed, oldPending, recentDelivered] = [
      await delivery("DELIVERED", old),
      await delivery("FAILED", old),
      await delivery("PENDING", old),
      await delivery("DELIVERED", new Date()),
    ];
    const [oldAlone, recentAlone] = [await event(old), await event(new Date())];

    expect(await server.app.webhooks.prune()).toEqual({ deliveries: 2, events: 3 });
    const deliveriesLeft = await prisma.webhookDelivery.findMany({ where: { tenantId: tenant.id }, select: { id: true } });
    expect(deliveriesLeft.map((row) => row.id).sort()).toEqual([oldPending.id, recentDelivered.id].sort());
    expect(await prisma.webhookAttempt.count({ where: { deliveryId: { in: [oldDelivered.id, oldFailed.id] } } })).toBe(0);
    const eventsLeft = (await prisma.event.findMany({ where: { tenantId: tenant.id }, select: { id: true } })).map((row) => row.id);
    expect(eventsLeft).toContain(oldPending.eventId);
    expect(eventsLeft).toContain(recentAlone.id);
    expect(eventsLeft).not.toContain(oldAlone.id);
    expect(eventsLeft).not.toContain(oldDelivered.eventId);
  });

  test("a rolled-back change sends nothing; the change committed after it is sent", async () => {
    const tenant = await server.createTenant("Rollback");
    await register(tenant, "VOREL", "/rollback", ["lead.created"]);
    const lost = leadEvent("CREATED", { id: crypto.randomUUID(), tenantId: tenant.id, status: "NEW" });
    await expect(
      server.db.prisma.$transaction(async (tx) => {
        await server.app.webhooks.record(tx, [lost]);
        throw new Error("the change fails after its event was recorded");
      }),
    ).rejects.toThrow("the change fails");
    expect(await server.db.prisma.event.count({ where: { id: lost.id } })).toBe(0);

    const kept = await server.ok(tenant, `mutation { createLead(input: { source: "web" }) { id } }`);
    await waitUntil(() => receiver.at("/rollback").length >= 1, () => "the committed lead's delivery", WAIT);
    expect(receiver.at("/rollback").map((request) => request.json.data.id)).toEqual([kept.createLead.id.replace(/^lead_/, "")]);
  });

  test("two instances on one database deliver each event once", async () => {
    const second = await server.startInstance({ WEBHOOK_POLL_MS: "500" });
    const tenant = await server.createTenant("Two instances");
    const { id } = await register(tenant, "VELERIA", "/twice", ["contact.created"]);
    // Half the writes through each instance: each wakes its own workers, both poll.
    for (let index = 0; index < 20; index += 1) {
      const url = index % 2 === 0 ? server.url : second.url;
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${tenant.token}` },
        body: JSON.stringify({ query: `mutation($n: String!) { createContact(input: { firstName: $n, email: "twice@example.com" }) { id } }`, variables: { n: `C${index}` } }),
      });
      expect(response.status).toBe(200);
    }
    await deliveriesUntil(tenant, id, (list) => list.length === 20 && list.every((each) => each.status === "DELIVERED"));
    const ids = receiver.at("/twice").map((request) => request.headers["webhook-id"]);
    expect(ids).toHaveLength(20);
    expect(new Set(ids).size).toBe(20);
  });
});

describe("targets", () => {
  test("without WEBHOOK_ALLOW_PRIVATE a name that resolves to a loopback address is refused at send time; nothing connects", { timeout: 60_000 }, async () => {
    const strict = await startTestServer({ env: { WEBHOOK_ALLOW_PRIVATE: "false" } });
    try {
      const tenant = await strict.createTenant("Strict");
      const port = new URL(receiver.url).port;
      const created = await strict.ok(
        tenant,
        `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } } }`,
        { input: { dialect: "VELERIA", url: `https://localhost:${port}/private`, events: ["contact.created"] } },
      );
      await strict.ok(tenant, `mutation { createContact(input: { firstName: "Eve", email: "eve@example.com" }) { id } }`);
      const list = await deliveriesUntil(tenant, created.createWebhookEndpoint.endpoint.id, (all) => all[0]?.status === "FAILED", strict);
      expect(list[0]).toMatchObject({ status: "FAILED", attemptCount: 1, attempts: [{ statusCode: null }] });
      expect(list[0].attempts[0].error).toMatch(/not a public|private|loopback|refused/i);
      expect(receiver.at("/private")).toHaveLength(0);
    } finally {
      await strict.close();
    }
  });
});
