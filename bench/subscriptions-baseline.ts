// The baseline of `npm run bench:live`: a plain `ws` WebSocketServer, no GraphQL, no
// database, in a process of its own like the service. It holds the frames to send
// pre-serialized (one Buffer per event, the very bytes of the payloads the service sent for
// the same events) and broadcasts one when POSTed to: it answers the POST, and sends the
// frame to every open socket right after, in the same turn of the event loop (the service
// publishes its event after commit, while its response goes out).
//
//   POST /broadcast  {"event": <index>}   ->  200 {"clients": <sockets sent to>}
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";
import { gcClock, loopDelayClock, memorySnapshot } from "./subscriptions-memory.js";
import { serve } from "./subscriptions-ipc.js";

let frames: Buffer[] = [];
const gcMs = gcClock();
const loopDelay = loopDelayClock();

const server = createServer((req, res) => {
  if (req.method !== "POST" || req.url !== "/broadcast") {
    res.writeHead(404).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    let frame: Buffer | undefined;
    try {
      frame = frames[(JSON.parse(Buffer.concat(chunks).toString("utf8")) as { event: number }).event];
    } catch {
      // answered below
    }
    if (!frame) {
      res.writeHead(400, { "content-type": "application/json" }).end('{"error":"unknown event"}');
      return;
    }
    const clients = wss.clients;
    const body = JSON.stringify({ clients: clients.size });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
    const message = frame;
    queueMicrotask(() => {
      for (const socket of clients) if (socket.readyState === socket.OPEN) socket.send(message, { binary: false });
    });
  });
});
// The service's WebSocketServer (src/http/websocket.ts) runs with ws' defaults too: no
// per-message deflate, client tracking on.
const wss = new WebSocketServer({ server, path: "/graphql" });

serve({
  async start() {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { port: (server.address() as AddressInfo).port, pid: process.pid, gc: typeof globalThis.gc === "function" };
  },
  /** The frames to broadcast, in event order, as the exact strings to send. */
  frames(list: string[]) {
    frames = list.map((text) => Buffer.from(text, "utf8"));
    return frames.length;
  },
  memory: () => memorySnapshot({ streams: wss.clients.size, connections: wss.clients.size }),
  /** Event-loop delay since the previous call. */
  loopDelay: () => loopDelay(),
  counters: () => ({ cpu: process.cpuUsage(), gcMs: gcMs(), statements: 0, stats: { connections: wss.clients.size, streams: wss.clients.size }, maxRssKiB: process.resourceUsage().maxRSS }),
  async close() {
    for (const socket of wss.clients) socket.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    setImmediate(() => process.exit(0));
  },
});
