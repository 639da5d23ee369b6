// One subscription's queue of events: bounded, so a client that reads slowly costs at most
// `capacity` events of memory and never holds up delivery to anyone else.
import type { GraphQLError } from "graphql";
import type { DomainEvent } from "../events/events.js";
import type { Loaders } from "../graphql/loaders.js";

/**
 * One event as it reaches this instance. Every local subscriber of the event gets the same
 * Delivery, so those with the same selection share one database load (see `loadOnce`).
 */
export interface Delivery<E extends DomainEvent = DomainEvent> {
  event: E;
  loaders: Loaders;
  loads: Map<string, Promise<unknown>>;
}

/** The last item of a stream that ends with an error (revoked token, overflow). */
export interface StreamEnd {
  end: GraphQLError;
}

export type StreamItem<E extends DomainEvent = DomainEvent> = Delivery<E> | StreamEnd;

/** Loads what `key` names once per delivery, whoever asks first. */
export function loadOnce<T>(delivery: Delivery, key: string, load: () => Promise<T>): Promise<T> {
  let loading = delivery.loads.get(key) as Promise<T> | undefined;
  if (!loading) {
    loading = load();
    delivery.loads.set(key, loading);
  }
  return loading;
}

/** The producer's side of a stream: what the fan-out and the registry hold. */
export interface EventSink {
  push(delivery: Delivery): void;
  end(options: { error?: GraphQLError; dropQueued: boolean }): void;
}

/**
 * A hand-written async iterator rather than an async generator: a generator paused at an
 * `await` cannot run its `finally` until the next event arrives, so an unsubscribe would
 * leak until then. Here `return()` cleans up at once.
 */
export class EventStream<E extends DomainEvent = DomainEvent> implements AsyncIterableIterator<StreamItem<E>>, EventSink {
  private queue: StreamItem<E>[] = [];
  private waiting: ((result: IteratorResult<StreamItem<E>>) => void) | undefined;
  private ending = false;
  private finished = false;

  constructor(
    readonly accepts: (event: DomainEvent) => event is E,
    private readonly capacity: number,
    private readonly onOverflow: () => GraphQLError,
    private readonly cleanup: () => void,
  ) {}

  push(delivery: Delivery): void {
    if (this.ending || !this.accepts(delivery.event)) return;
    if (this.queue.length >= this.capacity) return this.end({ error: this.onOverflow(), dropQueued: true });
    this.offer(delivery as Delivery<E>);
  }

  /**
   * Ends the stream: with `error`, the client receives it as the last result. Queued events
   * are still delivered first unless `dropQueued` (a revoked token must not see more).
   */
  end({ error, dropQueued }: { error?: GraphQLError; dropQueued: boolean }): void {
    if (this.ending) return;
    this.ending = true;
    if (dropQueued) this.queue = [];
    if (error) this.offer({ end: error });
    else if (this.waiting && this.queue.length === 0) this.settle({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<StreamItem<E>>> {
    const item = this.queue.shift();
    if (item) return Promise.resolve({ value: item, done: false });
    if (this.ending) {
      this.finish();
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve) => (this.waiting = resolve));
  }

  return(): Promise<IteratorResult<StreamItem<E>>> {
    this.ending = true;
    this.queue = [];
    this.settle({ value: undefined, done: true });
    this.finish();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  private offer(item: StreamItem<E>): void {
    if (this.waiting) this.settle({ value: item, done: false });
    else this.queue.push(item);
  }

  private settle(result: IteratorResult<StreamItem<E>>): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.(result);
    if (result.done) this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.cleanup();
  }
}
