// The pub/sub that carries domain events: in this process by default, through Redis when
// REDIS_URL is set so that a change on one instance reaches subscribers on every instance.
// Each tenant has its own channel, so an instance only receives the tenants it serves.
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import type { ControlEvent, DomainEvent } from "./events.js";

type Listener<T> = (event: T) => void;

export interface EventBus {
  /** Fire and forget: called after a commit, it never throws into the caller. */
  publish(event: DomainEvent): void;
  publishControl(event: ControlEvent): void;
  /** Listens to one tenant's events; returns the unsubscribe function. */
  subscribe(tenantId: string, listener: Listener<DomainEvent>): () => void;
  onControl(listener: Listener<ControlEvent>): () => void;
  /** "down" while Redis is unreachable; events published meanwhile wait in a queue. */
  status(): "up" | "down";
  close(): Promise<void>;
}

/** Listener sets keyed by channel, with hooks for the first listener in and the last one out. */
class Channels<T> {
  private readonly listeners = new Map<string, Set<Listener<T>>>();
  constructor(private readonly hooks: { first?(channel: string): void; last?(channel: string): void } = {}) {}

  add(channel: string, listener: Listener<T>): () => void {
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      this.hooks.first?.(channel);
    }
    set.add(listener);
    return () => {
      if (!set.delete(listener) || set.size > 0) return;
      this.listeners.delete(channel);
      this.hooks.last?.(channel);
    };
  }

  dispatch(channel: string, event: T): void {
    for (const listener of this.listeners.get(channel) ?? []) {
      try {
        listener(event);
      } catch (error) {
        console.error("event listener failed", error);
      }
    }
  }
}

const CONTROL = "control";
const tenantChannel = (tenantId: string) => `tenant:${tenantId}`;

export function createLocalBus(): EventBus {
  const events = new Channels<DomainEvent>();
  const control = new Channels<ControlEvent>();
  // Delivered on a later tick, so a listener never runs inside the publishing resolver.
  return {
    publish: (event) => queueMicrotask(() => events.dispatch(tenantChannel(event.tenantId), event)),
    publishControl: (event) => queueMicrotask(() => control.dispatch(CONTROL, event)),
    subscribe: (tenantId, listener) => events.add(tenantChannel(tenantId), listener),
    onControl: (listener) => control.add(CONTROL, listener),
    status: () => "up",
    close: async () => {},
  };
}

const PREFIX = "engagement-graph:";
/** Errors repeat on every reconnect attempt during an outage; log one line per interval. */
const ERROR_LOG_INTERVAL_MS = 10_000;

/**
 * Each instance delivers its own events to its own subscribers at once, and through Redis to
 * the others (ignoring its own echo). Its subscribers then never depend on Redis: during an
 * outage, or when the publishing connection comes back before the subscribing one has
 * re-subscribed, Redis would drop the event. Other instances get what Redis delivers.
 */
export function createRedisBus(url: string): EventBus {
  const origin = randomUUID();
  const options = {
    // Commands wait in the offline queue during an outage instead of failing after 20
    // attempts, so events published while Redis is down are sent once it is back.
    maxRetriesPerRequest: null,
    retryStrategy: (attempt: number) => Math.min(100 * attempt, 2_000),
    connectionName: "engagement-graph",
  };
  const publisher = new Redis(url, options);
  const subscriber = new Redis(url, options);
  let lastErrorLogged = 0;
  for (const client of [publisher, subscriber]) {
    client.on("error", (error: Error) => {
      if (Date.now() - lastErrorLogged < ERROR_LOG_INTERVAL_MS) return;
      lastErrorLogged = Date.now();
      console.error(`redis: ${error.message} (reconnecting; events are queued meanwhile)`);
    });
  }

  const watch = (channel: string) => void subscriber.subscribe(PREFIX + channel).catch(() => {});
  const unwatch = (channel: string) => void subscriber.unsubscribe(PREFIX + channel).catch(() => {});
  const events = new Channels<DomainEvent>({ first: watch, last: unwatch });
  const control = new Channels<ControlEvent>({ first: watch, last: unwatch });

  subscriber.on("message", (prefixed: string, message: string) => {
    const channel = prefixed.slice(PREFIX.length);
    let envelope: { origin: string; event: unknown };
    try {
      envelope = JSON.parse(message);
    } catch {
      return console.error(`redis: ignored a malformed message on ${prefixed}`);
    }
    if (envelope.origin === origin) return;
    if (channel === CONTROL) control.dispatch(channel, envelope.event as ControlEvent);
    // The channel names the tenant; an event claiming another tenant is never delivered.
    else if ((envelope.event as DomainEvent).tenantId === channel.slice("tenant:".length)) events.dispatch(channel, envelope.event as DomainEvent);
  });

  const send = (channel: string, event: unknown) =>
    void publisher.publish(PREFIX + channel, JSON.stringify({ origin, event })).catch((error: Error) => {
      console.error(`redis: could not publish on ${channel}: ${error.message}`);
    });

  return {
    publish: (event) => {
      queueMicrotask(() => events.dispatch(tenantChannel(event.tenantId), event));
      send(tenantChannel(event.tenantId), event);
    },
    publishControl: (event) => {
      queueMicrotask(() => control.dispatch(CONTROL, event));
      send(CONTROL, event);
    },
    subscribe: (tenantId, listener) => events.add(tenantChannel(tenantId), listener),
    onControl: (listener) => control.add(CONTROL, listener),
    status: () => (publisher.status === "ready" && subscriber.status === "ready" ? "up" : "down"),
    close: async () => {
      // quit() waits for queued commands, which during an outage would wait for ever.
      const grace = new Promise((resolve) => setTimeout(resolve, 1_000).unref());
      await Promise.race([Promise.allSettled([publisher.quit(), subscriber.quit()]), grace]);
      publisher.disconnect();
      subscriber.disconnect();
    },
  };
}

export function createBus(redisUrl: string | undefined): EventBus {
  return redisUrl ? createRedisBus(redisUrl) : createLocalBus();
}
