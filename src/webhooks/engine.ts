// Outbound webhooks on pg-boss, on the service's own database (PGlite or PostgreSQL).
//
// 1. A write records its events in its own transaction: Event rows (the outbox) and one
//    `webhook-fanout` job naming them. A rollback leaves neither; a commit keeps both, so a
//    committed change is sent even if the process dies a moment later.
// 2. Fan-out finds the endpoints that want each event, renders each dialect's body once and
//    stores it as a WebhookDelivery with one `webhook-deliver` job, in one transaction.
// 3. A delivery job makes one attempt, logs it and, when it may be retried, queues the next
//    attempt with its backoff, again in one transaction. pg-boss hands each job to one worker
//    across instances; a job whose instance died mid-attempt expires and runs again.
// 4. A sweep, on pg-boss's cron once a minute (and at once when asked), queues what has no
//    job: deliveries paused while their endpoint was disabled, redelivered ones, and any whose
//    job was lost (it failed for good on a database error). A delivery's jobs share its id as
//    their singleton key under pg-boss's "short" policy (one queued job per delivery), and an
//    attempt is claimed with a lease before it is made, so no two workers make the same one.
import { randomInt } from "node:crypto";
import PgBoss from "pg-boss";
import type { Config } from "../config.js";
import type { Database } from "../db/client.js";
import type { DomainEvent } from "../events/events.js";
import type { Prisma } from "../generated/prisma/client.js";
import type { WebhookDialect, WebhookEndpointStatus } from "../generated/prisma/enums.js";
import { createRenderer, type Renderer } from "./render.js";
import { loadSecretBox, type SecretBox } from "./secrets.js";
import { sendWebhook, type SendOutcome, type WebhookRequest } from "./send.js";
import { signatureHeaders } from "./signing.js";

const FANOUT = "webhook-fanout";
const DELIVER = "webhook-deliver";
const SWEEP = "webhook-sweep";
const PRUNE = "webhook-prune";
/** Rows one prune statement deletes, so that no statement holds locks for long. */
const PRUNE_BATCH = 5_000;
/** A pending delivery this late for its attempt has lost its job. */
const STUCK_AFTER_MS = 5 * 60_000;
/** Jobs one worker takes per fetch; they are attempted concurrently. */
const BATCH = 20;
const DELIVER_WORKERS = 2;

interface FanoutJob {
  eventIds: string[];
}
interface DeliverJob {
  deliveryId: string;
  /** The attempt this job makes: a job for an attempt already made (a re-run) does nothing. */
  attempt: number;
}

export interface Webhooks {
  /** Inside a write's transaction: its events into the outbox, with the job that fans them out. */
  record(tx: Prisma.TransactionClient, events: DomainEvent[]): Promise<void>;
  /** After that transaction committed: this instance's fan-out starts at once instead of at its next poll. */
  committed(): void;
  /**
   * One more attempt for each delivery named that ended (FAILED or DELIVERED) or is stuck (its
   * attempt long overdue); returns how many were queued. Others' and pending ones are left.
   */
  redeliver(tenantId: string, where: { deliveryId: string } | { endpointId: string; failedSince: Date }): Promise<number>;
  /** Queues the deliveries an endpoint's re-enabling resumes, now rather than at the next sweep. */
  resume(): void;
  /**
   * Deletes deliveries that ended (with their attempts) and events, both older than the
   * retention; an event some pending delivery still needs is kept. Returns what it deleted.
   */
  prune(now?: Date): Promise<{ deliveries: number; events: number }>;
  /** Seals signing secrets and dispatch headers (ready after start()). */
  box(): SecretBox;
  /** WEBHOOK_ALLOW_PRIVATE: whether http:// and private targets are accepted (registration checks it too). */
  readonly allowPrivate: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

type WebhookConfig = Pick<Config, "webhooks">;

/** pg-boss's job SQL, run on the caller's Prisma transaction so the job commits (or not) with it. */
function inTransaction(tx: Prisma.TransactionClient): PgBoss.Db {
  return { executeSql: async (text, values) => ({ rows: await tx.$queryRawUnsafe(text, ...values) }) };
}

/** The delay before attempt `attempt + 1`, with ±20 % jitter so retries of one outage spread out. */
function retryDelayMs(delaysSeconds: number[], attempt: number): number | null {
  const base = delaysSeconds[attempt - 1];
  if (base === undefined) return null;
  const ms = base * 1000;
  return Math.max(0, Math.round(ms + (randomInt(0, 401) - 200) / 1000 * ms));
}

type Verdict = { status: "DELIVERED" } | { status: "FAILED"; permanent: boolean } ;

/** Vorel's documented rules, for every dialect: 2xx delivered, 4xx (or a refused target) final, the rest retried. */
function verdictOf(outcome: SendOutcome): Verdict {
  if (outcome.kind === "refused") return { status: "FAILED", permanent: true };
  if (outcome.kind === "failed") return { status: "FAILED", permanent: false };
  if (outcome.status >= 200 && outcome.status < 300) return { status: "DELIVERED" };
  // A redirect is not followed: the endpoint's URL is wrong until its owner changes it.
  return { status: "FAILED", permanent: outcome.status < 500 };
}

export function createWebhooks(db: Database, config: WebhookConfig): Webhooks {
  const settings = config.webhooks;
  // pg-boss completes a job without awaiting it and may finish a fetch after stop(): shutdown
  // waits until none of its statements and none of our handlers are running, so nothing is
  // sent on a closed pool.
  let running = 0;
  const counted = async <T>(work: () => Promise<T>): Promise<T> => {
    running += 1;
    try {
      return await work();
    } finally {
      running -= 1;
    }
  };
  const boss = new PgBoss({
    db: { executeSql: (text, values) => counted(() => db.jobs.executeSql(text, values)) },
    schema: db.jobs.schema,
    maintenanceIntervalSeconds: settings.maintenanceSeconds,
  });
  boss.on("error", (error: Error) => console.error(`webhooks: ${error.message}`));
  const renderer: Renderer = createRenderer(db.prisma);
  let secrets: SecretBox | undefined;
  let fanoutWorker: string | undefined;
  const deliverWorkers: string[] = [];
  let started: Promise<void> | undefined;

  const wakeDelivery = () => deliverWorkers.forEach((id) => boss.notifyWorker(id));

  async function fanout(eventIds: string[]) {
    const events = await db.prisma.event.findMany({ where: { id: { in: eventIds } }, orderBy: { sequence: "asc" } });
    let queued = 0;
    // One event or endpoint that fails to render must not hold back the others: they go on,
    // and the job fails at the end, to be run again (what was stored is not stored twice).
    const failures: unknown[] = [];
    for (const event of events) {
      const facts = event.facts as unknown as DomainEvent;
      const conversationId = facts.topic === "conversation" ? facts.conversationId : undefined;
      const endpoints = await db.prisma.webhookEndpoint.findMany({
        where: {
          tenantId: event.tenantId,
          status: "ACTIVE",
          OR: [{ dialect: { not: "VELENTS_AGENT" } }, ...(conversationId ? [{ conversations: { some: { id: conversationId } } }] : [])],
        },
        select: { id: true, dialect: true, events: true, extraBody: true },
      });
      for (const endpoint of endpoints) {
        try {
          const rendered = await renderer.render(endpoint, facts, event.occurredAt);
          if (rendered.length === 0) continue;
          await db.prisma.$transaction(async (tx) => {
            for (const delivery of rendered) {
              const { count } = await tx.webhookDelivery.createMany({
                data: [{ id: delivery.id, tenantId: event.tenantId, endpointId: endpoint.id, eventId: event.id, eventName: delivery.name, body: delivery.body, nextAttemptAt: new Date() }],
                // A fan-out that runs again (its instance died after this commit) finds them made.
                skipDuplicates: true,
              });
              if (count === 0) continue;
              await queueAttempt(tx, delivery.id, 1, new Date());
              queued += 1;
            }
          });
        } catch (error) {
          failures.push(error);
          console.error(`webhooks: event ${event.id} for endpoint ${endpoint.id} not fanned out: ${(error as Error).message}`);
        }
      }
    }
    if (queued > 0) wakeDelivery();
    if (failures.length > 0) throw new Error(`${failures.length} fan-outs failed; the job runs again`);
  }

  async function deliver({ deliveryId, attempt }: DeliverJob) {
    const delivery = await db.prisma.webhookDelivery.findUnique({
      where: { id: deliveryId },
      include: { endpoint: { select: { id: true, dialect: true, url: true, status: true, secretCiphertext: true, headersCiphertext: true } } },
    });
    if (!delivery || delivery.status !== "PENDING" || delivery.attemptCount >= attempt) return;
    const { endpoint } = delivery;
    if (endpoint.status !== "ACTIVE") {
      // Paused, not failed: re-enabling the endpoint resumes it (the sweep queues it again).
      await db.prisma.webhookDelivery.updateMany({ where: { id: deliveryId, status: "PENDING", attemptCount: attempt - 1 }, data: { nextAttemptAt: null } });
      return;
    }
    // The claim: a job run again (pg-boss expired or failed it while the first run still went
    // on) finds the attempt held and leaves it. The lease ends before pg-boss's expiry, so the
    // retry of a run whose instance died finds it free.
    const claimed = await db.prisma.webhookDelivery.updateMany({
      where: { id: deliveryId, status: "PENDING", attemptCount: attempt - 1, OR: [{ leaseUntil: null }, { leaseUntil: { lt: new Date() } }] },
      data: { leaseUntil: new Date(Date.now() + settings.attemptTimeoutMs + 5_000) },
    });
    if (claimed.count === 0) return;
    let request: WebhookRequest;
    try {
      request = signedRequest(endpoint, delivery);
    } catch (error) {
      // A secret that does not open (WEBHOOK_SECRET_KEY changed) fails the attempt, logged, like any other.
      await logAttempt(delivery, endpoint, attempt, { kind: "failed", durationMs: 0, error: `could not sign: ${(error as Error).message}` });
      return;
    }
    const outcome = await sendWebhook(request, { timeoutMs: settings.attemptTimeoutMs, allowPrivate: settings.allowPrivate });
    await logAttempt(delivery, endpoint, attempt, outcome);
  }

  function signedRequest(
    endpoint: { dialect: WebhookDialect; url: string; secretCiphertext: string | null; headersCiphertext: string | null },
    delivery: { id: string; body: string; eventName: string },
  ): WebhookRequest {
    const box = secrets!;
    const secret = endpoint.secretCiphertext ? box.open(endpoint.secretCiphertext) : null;
    const ownHeaders = endpoint.headersCiphertext ? (JSON.parse(box.open(endpoint.headersCiphertext)) as Record<string, string>) : {};
    const signed = signatureHeaders(endpoint.dialect, secret, {
      id: delivery.id,
      body: delivery.body,
      timestamp: Math.floor(Date.now() / 1000),
      eventName: delivery.eventName,
    });
    return { url: endpoint.url, body: delivery.body, headers: { ...ownHeaders, ...signed } };
  }

  /** Logs an attempt and moves its delivery on: delivered, failed for good, or its next attempt queued. */
  async function logAttempt(
    delivery: { id: string; tenantId: string },
    endpoint: { id: string; status: WebhookEndpointStatus },
    attempt: number,
    outcome: SendOutcome,
  ) {
    const deliveryId = delivery.id;
    const verdict = verdictOf(outcome);
    const delay = verdict.status === "FAILED" && !verdict.permanent ? retryDelayMs(settings.retryDelaysSeconds, attempt) : null;
    const nextAttemptAt = delay === null ? null : new Date(Date.now() + delay);
    const ended = nextAttemptAt === null;
    await db.prisma.$transaction(async (tx) => {
      await tx.webhookAttempt.create({
        data: {
          tenantId: delivery.tenantId,
          deliveryId,
          number: attempt,
          statusCode: outcome.kind === "response" ? outcome.status : null,
          durationMs: outcome.durationMs,
          error: outcome.kind === "response" ? null : outcome.error,
          responseBody: outcome.kind === "response" ? outcome.body.slice(0, 1024) : null,
          nextAttemptAt,
        },
      });
      await tx.webhookDelivery.update({
        where: { id: deliveryId },
        data: {
          attemptCount: attempt,
          status: verdict.status === "DELIVERED" ? "DELIVERED" : ended ? "FAILED" : "PENDING",
          deliveredAt: verdict.status === "DELIVERED" ? new Date() : undefined,
          nextAttemptAt,
          leaseUntil: null,
        },
      });
      if (nextAttemptAt) {
        await queueAttempt(tx, deliveryId, attempt + 1, nextAttemptAt);
      } else if (verdict.status === "DELIVERED") {
        await tx.webhookEndpoint.updateMany({ where: { id: endpoint.id, consecutiveFailures: { gt: 0 } }, data: { consecutiveFailures: 0 } });
      } else if (endpoint.status === "ACTIVE") {
        const { consecutiveFailures } = await tx.webhookEndpoint.update({ where: { id: endpoint.id }, data: { consecutiveFailures: { increment: 1 } }, select: { consecutiveFailures: true } });
        const limit = settings.disableAfterFailures;
        if (limit > 0 && consecutiveFailures >= limit) {
          // Deliveries ending side by side each pass the limit: the first to commit disables it.
          await tx.webhookEndpoint.updateMany({
            where: { id: endpoint.id, status: "ACTIVE" },
            data: { status: "DISABLED", disabledReason: `disabled by the service after ${limit} failed deliveries in a row` },
          });
        }
      }
    });
  }

  /** The job for a delivery's next attempt; none is added while one is already queued for it. */
  function queueAttempt(tx: Prisma.TransactionClient, deliveryId: string, attempt: number, startAfter: Date) {
    return boss.send(DELIVER, { deliveryId, attempt } satisfies DeliverJob, { db: inTransaction(tx), startAfter, singletonKey: deliveryId });
  }

  /** Queues every pending delivery of an active endpoint that has no attempt scheduled or is long overdue. */
  async function sweep() {
    const stuckBefore = new Date(Date.now() - STUCK_AFTER_MS);
    const waiting = await db.prisma.webhookDelivery.findMany({
      where: { status: "PENDING", endpoint: { status: "ACTIVE" }, OR: [{ nextAttemptAt: null }, { nextAttemptAt: { lt: stuckBefore } }] },
      select: { id: true, attemptCount: true },
      orderBy: { createdAt: "asc" },
      take: 1_000,
    });
    for (const delivery of waiting) {
      await db.prisma.$transaction(async (tx) => {
        const now = new Date();
        await tx.webhookDelivery.update({ where: { id: delivery.id }, data: { nextAttemptAt: now } });
        await queueAttempt(tx, delivery.id, delivery.attemptCount + 1, now);
      });
    }
    if (waiting.length > 0) wakeDelivery();
  }

  async function prune(now = new Date()) {
    const cutoff = new Date(now.getTime() - settings.retentionDays * 86_400_000);
    const deleted = { deliveries: 0, events: 0 };
    for (;;) {
      const count = await db.prisma.$executeRaw`
        DELETE FROM "WebhookDelivery" WHERE status <> 'PENDING' AND id IN (
          SELECT id FROM "WebhookDelivery" WHERE status <> 'PENDING' AND "createdAt" < ${cutoff} LIMIT ${PRUNE_BATCH})`;
      deleted.deliveries += count;
      if (count < PRUNE_BATCH) break;
    }
    for (;;) {
      const count = await db.prisma.$executeRaw`
        DELETE FROM "Event" WHERE id IN (
          SELECT e.id FROM "Event" e WHERE e."occurredAt" < ${cutoff}
            AND NOT EXISTS (SELECT 1 FROM "WebhookDelivery" d WHERE d."eventId" = e.id)
          LIMIT ${PRUNE_BATCH})`;
      deleted.events += count;
      if (count < PRUNE_BATCH) break;
    }
    return deleted;
  }

  /** Runs a batch's jobs side by side; each job's own failure is logged and left to pg-boss to retry. */
  function batchHandler<T>(work: (data: T) => Promise<void>, wake: () => void) {
    return async (jobs: PgBoss.Job<T>[]) => {
      const results = await counted(() => Promise.allSettled(jobs.map((job) => work(job.data))));
      const failed = results.filter((result): result is PromiseRejectedResult => result.status === "rejected");
      for (const failure of failed) console.error(`webhooks: ${(failure.reason as Error).message}`);
      // A full batch means more may be waiting: fetch again now rather than after the interval.
      if (jobs.length === BATCH) wake();
      // pg-boss completes or fails a batch as one; failing it re-runs every job, which the
      // attempt guard and the unique delivery key make harmless.
      if (failed.length > 0) throw new Error(`${failed.length} of ${jobs.length} webhook jobs failed`);
    };
  }

  async function start() {
    secrets = await loadSecretBox(settings, db);
    await checkKey(secrets);
    await boss.start();
    const expireInSeconds = Math.ceil(settings.attemptTimeoutMs / 1000) + 10;
    for (const [name, options] of [
      // A batch dispatch's fan-out renders a thousand events: minutes on a slow embedded database.
      [FANOUT, { policy: "standard", retryLimit: 20, retryDelay: 1, retryBackoff: true, expireInSeconds: 600 }],
      [DELIVER, { policy: "short", retryLimit: 5, retryDelay: 1, retryBackoff: true, expireInSeconds }],
      [SWEEP, { policy: "standard", retryLimit: 2, retryDelay: 5, retryBackoff: false, expireInSeconds: 120 }],
      [PRUNE, { policy: "standard", retryLimit: 2, retryDelay: 60, retryBackoff: false, expireInSeconds: 3_600 }],
    ] as const) {
      await boss.createQueue(name, { name, ...options });
      await boss.updateQueue(name, { name, ...options });
    }
    // Once a minute, on one instance however many run (pg-boss's cron).
    await boss.schedule(SWEEP, "* * * * *");
    await boss.work(SWEEP, { pollingIntervalSeconds: settings.pollingSeconds }, () => counted(sweep));
    // Daily, at a quiet minute; pg-boss keeps its own jobs for 7 days.
    await boss.schedule(PRUNE, "17 3 * * *");
    await boss.work(PRUNE, { pollingIntervalSeconds: settings.pollingSeconds }, () => counted(() => prune()));
    const polling = { batchSize: BATCH, pollingIntervalSeconds: settings.pollingSeconds };
    fanoutWorker = await boss.work<FanoutJob>(FANOUT, polling, batchHandler((job) => fanout(job.eventIds), () => boss.notifyWorker(fanoutWorker!)));
    for (let index = 0; index < DELIVER_WORKERS; index += 1) {
      deliverWorkers.push(await boss.work<DeliverJob>(DELIVER, polling, batchHandler(deliver, wakeDelivery)));
    }
  }

  /**
   * Refuses to start with a key that does not open the secrets already stored (a changed
   * WEBHOOK_SECRET_KEY): every signed delivery would fail until it is put back.
   */
  async function checkKey(box: SecretBox) {
    const sealed = await db.prisma.webhookEndpoint.findFirst({ where: { secretCiphertext: { not: null } }, select: { secretCiphertext: true } });
    if (!sealed?.secretCiphertext) return;
    try {
      box.open(sealed.secretCiphertext);
    } catch {
      throw new Error("WEBHOOK_SECRET_KEY does not open the webhook secrets stored in this database: start with the key they were sealed with");
    }
  }

  return {
    async record(tx, events) {
      if (events.length === 0) return;
      await tx.event.createMany({
        data: events.map((event) => ({
          id: event.id,
          tenantId: event.tenantId,
          topic: event.topic,
          type: event.type,
          facts: event as unknown as Prisma.InputJsonObject,
          occurredAt: new Date(event.occurredAt),
        })),
      });
      // Most tenants have no endpoint: their events go to the log only, without a fan-out job
      // (an endpoint registered while this transaction runs gets events from after its own commit).
      const tenantIds = [...new Set(events.map((event) => event.tenantId))];
      const listening = await tx.webhookEndpoint.findFirst({ where: { tenantId: { in: tenantIds }, status: "ACTIVE" }, select: { id: true } });
      if (!listening) return;
      await boss.send(FANOUT, { eventIds: events.map((event) => event.id) } satisfies FanoutJob, { db: inTransaction(tx) });
    },
    committed() {
      if (fanoutWorker) boss.notifyWorker(fanoutWorker);
    },
    async redeliver(tenantId, where) {
      const which = "deliveryId" in where ? { id: where.deliveryId } : { endpointId: where.endpointId, status: "FAILED" as const, createdAt: { gte: where.failedSince } };
      const stuckBefore = new Date(Date.now() - STUCK_AFTER_MS);
      // Marked waiting (no attempt scheduled): the sweep, asked to run now, queues them.
      const { count } = await db.prisma.webhookDelivery.updateMany({
        where: { ...which, tenantId, OR: [{ status: { not: "PENDING" } }, { nextAttemptAt: { lt: stuckBefore } }] },
        data: { status: "PENDING", nextAttemptAt: null },
      });
      if (count > 0) void boss.send(SWEEP, {}).catch((error: Error) => console.error(`webhooks: ${error.message}`));
      return count;
    },
    prune,
    resume() {
      void boss.send(SWEEP, {}).catch((error: Error) => console.error(`webhooks: ${error.message}`));
    },
    allowPrivate: settings.allowPrivate,
    box() {
      if (!secrets) throw new Error("webhooks are not started");
      return secrets;
    },
    start() {
      started ??= start();
      return started;
    },
    async stop() {
      if (!started) return;
      await started.catch(() => {});
      // In-flight attempts finish (at most one timeout); what is left stays queued for the next start.
      await boss.stop({ graceful: true, close: false, timeout: settings.attemptTimeoutMs + 1_000, wait: true });
      const deadline = Date.now() + settings.attemptTimeoutMs + 1_000;
      while (running > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    },
  };
}
