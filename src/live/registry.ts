// Who is listening on this instance: connections per token, streams per connection, and the
// fan-out from the event bus to those streams. Also where live access ends: a revoked or
// expired token's streams are ended, and on shutdown every stream completes.
import type { GraphQLError } from "graphql";
import { tokenState, type Viewer } from "../auth/viewer.js";
import type { Config } from "../config.js";
import type { PrismaClient } from "../db/client.js";
import type { EventBus } from "../events/bus.js";
import type { DomainEvent } from "../events/events.js";
import { liveLimit, subscriptionOverflow, unauthenticated } from "../graphql/errors.js";
import { createLoaders } from "../graphql/loaders.js";
import { EventStream, type Delivery, type EventSink } from "./stream.js";

/** What a resolver sees: the caller's way to open event streams, within its limits. */
export interface LiveSession {
  open<E extends DomainEvent>(accepts: (event: DomainEvent) => event is E): EventStream<E>;
}

/** WebSocket close codes this service uses besides graphql-ws' own. */
export const CLOSE_CODES = {
  unauthorized: 4401,
  forbidden: 4403,
  /** Like 1008 (policy violation): more connections for one token than allowed. */
  tooManyConnections: 4008,
  goingAway: 1001,
} as const;

export interface Live {
  /** A WebSocket connection; counts against its token's connection limit from the start. */
  connect(viewer: Viewer, closeSocket: (code: number, reason: string) => void): LiveSession & { disconnect(): void };
  /** An HTTP request; an SSE stream it opens counts as a connection while it lasts. */
  forRequest(viewer: Viewer): LiveSession;
  /** Ends every stream the token has open, at once; a token of another tenant is left alone. */
  revoke(tenantId: string, tokenId: string): void;
  stats(): { connections: number; streams: number };
  /** Completes every stream (queued events are still delivered) and stops watching tokens. */
  close(): void;
}

const revokedError = () => unauthenticated("This token was revoked or has expired");

export function createLive(prisma: PrismaClient, bus: EventBus, limits: Config["live"]): Live {
  const byToken = new Map<string, Set<Connection>>();
  const tenants = new Map<string, { streams: Set<EventSink>; stopListening(): void }>();

  function listen(tenantId: string, stream: EventSink): () => void {
    let tenant = tenants.get(tenantId);
    if (!tenant) {
      const streams = new Set<EventSink>();
      const stopListening = bus.subscribe(tenantId, (event) => {
        const delivery: Delivery = { event, loaders: createLoaders(prisma, tenantId), loads: new Map() };
        for (const each of streams) each.push(delivery);
      });
      tenant = { streams, stopListening };
      tenants.set(tenantId, tenant);
    }
    tenant.streams.add(stream);
    return () => {
      tenant.streams.delete(stream);
      if (tenant.streams.size > 0) return;
      tenant.stopListening();
      tenants.delete(tenantId);
    };
  }

  function register(connection: Connection): void {
    let connections = byToken.get(connection.viewer.token.id);
    if (!connections) byToken.set(connection.viewer.token.id, (connections = new Set()));
    if (connections.size >= limits.maxConnectionsPerToken) {
      if (connections.size === 0) byToken.delete(connection.viewer.token.id);
      throw liveLimit(
        "TOO_MANY_CONNECTIONS",
        `This token already has ${limits.maxConnectionsPerToken} live connections open`,
        limits.maxConnectionsPerToken,
      );
    }
    connections.add(connection);
  }

  function unregister(connection: Connection): void {
    const connections = byToken.get(connection.viewer.token.id);
    if (!connections?.delete(connection) || connections.size > 0) return;
    byToken.delete(connection.viewer.token.id);
  }

  class Connection implements LiveSession {
    readonly streams = new Set<EventSink>();
    revoked = false;

    constructor(
      readonly viewer: Viewer,
      /** For an HTTP request, whose stream is its connection. */
      private readonly perRequest: boolean,
      private readonly closeSocket?: (code: number, reason: string) => void,
    ) {}

    open<E extends DomainEvent>(accepts: (event: DomainEvent) => event is E): EventStream<E> {
      if (this.revoked) throw revokedError();
      if (this.perRequest) register(this);
      else if (this.streams.size >= limits.maxSubscriptionsPerConnection) {
        throw liveLimit(
          "TOO_MANY_SUBSCRIPTIONS",
          `A connection may hold at most ${limits.maxSubscriptionsPerConnection} subscriptions`,
          limits.maxSubscriptionsPerConnection,
        );
      }
      const stream: EventStream<E> = new EventStream(accepts, limits.subscriptionBuffer, () => subscriptionOverflow(limits.subscriptionBuffer), () => {
        stopListening();
        this.streams.delete(stream);
        if (this.perRequest) unregister(this);
        // On the next turn: graphql-ws sends the stream's `complete` right after this cleanup.
        if (this.revoked && this.streams.size === 0) setImmediate(() => this.closeSocket?.(CLOSE_CODES.unauthorized, "Token revoked or expired"));
      });
      const stopListening = listen(this.viewer.tenant.id, stream);
      this.streams.add(stream);
      return stream;
    }

    end(error: GraphQLError | undefined): void {
      for (const stream of this.streams) stream.end({ error, dropQueued: error !== undefined });
    }

    revoke(): void {
      this.revoked = true;
      this.end(revokedError());
      // The socket closes once its streams have sent their last result (see cleanup above).
      if (this.streams.size === 0) this.closeSocket?.(CLOSE_CODES.unauthorized, "Token revoked or expired");
    }
  }

  function revoke(tenantId: string, tokenId: string): void {
    for (const connection of byToken.get(tokenId) ?? []) if (connection.viewer.tenant.id === tenantId) connection.revoke();
  }

  /** A token the re-check found revoked, expired or gone: its own connections end. */
  function endToken(tokenId: string): void {
    for (const connection of byToken.get(tokenId) ?? []) connection.revoke();
  }

  // Revocations through GraphQL arrive at once over the bus; the CLI (another process,
  // perhaps without Redis) and expiry are caught by re-checking open tokens on a timer.
  const stopControl = bus.onControl((event) => {
    if (event.type === "TOKEN_REVOKED") revoke(event.tenantId, event.tokenId);
  });
  let checking = false;
  const recheck = setInterval(async () => {
    if (checking || byToken.size === 0) return;
    checking = true;
    try {
      const ids = [...byToken.keys()];
      const rows = await prisma.apiToken.findMany({ where: { id: { in: ids } }, select: { id: true, revokedAt: true, expiresAt: true } });
      const active = new Set(rows.filter((row) => tokenState(row) === "active").map((row) => row.id));
      for (const id of ids) if (!active.has(id)) endToken(id);
    } catch (error) {
      console.error("could not re-check live tokens", error);
    } finally {
      checking = false;
    }
  }, limits.tokenRecheckMs);
  recheck.unref();

  return {
    connect(viewer, closeSocket) {
      const connection = new Connection(viewer, false, closeSocket);
      register(connection);
      return {
        open: (accepts) => connection.open(accepts),
        disconnect: () => {
          connection.end(undefined);
          unregister(connection);
        },
      };
    },
    forRequest: (viewer) => new Connection(viewer, true),
    revoke,
    stats() {
      let connections = 0;
      let streams = 0;
      for (const set of byToken.values()) {
        connections += set.size;
        for (const connection of set) streams += connection.streams.size;
      }
      return { connections, streams };
    },
    close() {
      clearInterval(recheck);
      stopControl();
      for (const set of byToken.values()) for (const connection of set) connection.end(undefined);
    },
  };
}
