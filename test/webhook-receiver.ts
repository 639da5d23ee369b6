// A real HTTP server that receives webhooks in the tests: it records every request as it
// arrived (raw body included, for signature checks) and answers as the test tells it.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body, exactly as signed. */
  body: string;
  json: any;
}

/** What to do with a request: answer with a status, or never answer (a hung receiver). */
export type Answer = number | "hang";

export interface Receiver {
  /** The base URL, http://127.0.0.1:<port> (tests allow private targets). */
  url: string;
  received: Received[];
  /** Requests to one path, in arrival order. */
  at(path: string): Received[];
  /** How to answer; by default every request gets 200. */
  answer(decide: (request: Received, index: number) => Answer): void;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const hung: ServerResponse[] = [];
  let decide: (request: Received, index: number) => Answer = () => 200;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      const request: Received = { path: req.url ?? "/", headers: req.headers, body, json };
      received.push(request);
      const answer = decide(request, received.length - 1);
      if (answer === "hang") {
        hung.push(res);
        return;
      }
      res.writeHead(answer, { "content-type": "text/plain" }).end(`answered ${answer}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    at: (path) => received.filter((request) => request.path === path),
    answer(next) {
      decide = next;
    },
    async close() {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
