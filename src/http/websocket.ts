// GraphQL over WebSocket (the graphql-transport-ws protocol) on the HTTP server's /graphql
// path. Operations run through yoga's envelope, so error masking and every other plugin
// apply exactly as over HTTP.
import type { IncomingMessage, Server } from "node:http";
import { GraphQLError, type ExecutionArgs } from "graphql";
import { CloseCode, type ConnectionInitMessage } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import type { YogaServerInstance } from "graphql-yoga";
import { WebSocketServer, type WebSocket } from "ws";
import type { Scope } from "../auth/scopes.js";
import { authenticate, bearerToken, type Viewer } from "../auth/viewer.js";
import type { Config } from "../config.js";
import type { Database } from "../db/client.js";
import type { Context } from "../graphql/context.js";
import { CLOSE_CODES, type Live, type LiveSession } from "../live/registry.js";
import type { ServerContext } from "./server.js";

type Extra = {
  socket: WebSocket;
  request: IncomingMessage;
  viewer?: Viewer;
  live?: LiveSession & { disconnect(): void };
};

/** The scopes that some subscription needs; a token with none of them cannot subscribe. */
const SUBSCRIBABLE: Scope[] = ["conversations:read", "leads:read", "bookings:read"];

type Enveloped = ReturnType<YogaServerInstance<ServerContext, Context>["getEnveloped"]>;
type RootValue = { execute: Enveloped["execute"]; subscribe: Enveloped["subscribe"] };

/** The token from connection_init's `authorization` (any casing), else the upgrade request's header. */
function tokenOf(params: ConnectionInitMessage["payload"], request: IncomingMessage): string | undefined {
  const fromParams = Object.entries(params ?? {}).find(([key]) => key.toLowerCase() === "authorization")?.[1];
  return bearerToken(typeof fromParams === "string" ? fromParams : request.headers.authorization);
}

export function attachWebSocket(
  server: Server,
  yoga: YogaServerInstance<ServerContext, Context>,
  db: Database,
  live: Live,
  config: Pick<Config, "limits" | "live">,
) {
  const wss = new WebSocketServer({ server, path: "/graphql", maxPayload: config.limits.maxRequestBytes });
  return useServer<Record<string, unknown>, Extra>(
    {
      onConnect: async (ctx) => {
        const { socket, request } = ctx.extra;
        const token = tokenOf(ctx.connectionParams, request);
        const viewer = token ? await authenticate(db.prisma, token) : undefined;
        // Closed while we waited: onClose has already run, so nothing would release a slot.
        if (socket.readyState !== socket.OPEN) return false;
        // Closing here first picks the code; graphql-ws' own close after `false` is then a no-op.
        if (!viewer) {
          socket.close(CLOSE_CODES.unauthorized, "Unauthorized: send a valid token as connection_init { authorization: \"Bearer …\" }");
          return false;
        }
        if (!SUBSCRIBABLE.some((scope) => viewer.scopes.has(scope))) {
          socket.close(CLOSE_CODES.forbidden, `Forbidden: subscriptions need one of ${SUBSCRIBABLE.join(", ")}`);
          return false;
        }
        try {
          ctx.extra.live = live.connect(viewer, (code, reason) => socket.close(code, reason));
        } catch (error) {
          socket.close(CLOSE_CODES.tooManyConnections, (error as Error).message);
          return false;
        }
        ctx.extra.viewer = viewer;
        return true;
      },
      onClose: (ctx) => ctx.extra.live?.disconnect(),
      onSubscribe: async (ctx, _id, payload) => {
        const { viewer, live: session } = ctx.extra;
        // onConnect accepted the connection, so both are set; this guards the types.
        if (!viewer || !session) return void ctx.extra.socket.close(CloseCode.Unauthorized, "Unauthorized");
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          viewer,
          liveSession: session,
          params: payload,
        } as Parameters<typeof yoga.getEnveloped>[0]);
        let document;
        try {
          document = parse(payload.query);
        } catch (error) {
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        const errors = validate(schema, document);
        if (errors.length > 0) return errors;
        const rootValue: RootValue = { execute, subscribe };
        const args: ExecutionArgs = {
          schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: await contextFactory(),
          rootValue,
        };
        return args;
      },
      // The enveloped executors travel in rootValue (yoga's documented graphql-ws recipe).
      execute: (args) => (args.rootValue as RootValue).execute(args),
      subscribe: (args) => (args.rootValue as RootValue).subscribe(args),
    },
    wss,
    config.live.keepAliveMs,
  );
}
