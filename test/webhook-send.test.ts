import dns from "node:dns";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendWebhook, webhookUrlProblem } from "../src/webhooks/send.js";

interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

const requests: Recorded[] = [];
let connections = 0;
let server: Server;
let base: string;
let port: number;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = req.url ?? "";
      requests.push({ method: req.method ?? "", url, headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      // The client hangs up early on purpose in some tests; that is not a server failure.
      res.on("error", () => {});
      if (url.startsWith("/ok")) {
        res.writeHead(200, { "content-type": "text/plain" }).end("thanks");
      } else if (url.startsWith("/fail")) {
        res.writeHead(500).end("boom");
      } else if (url.startsWith("/redirect")) {
        res.writeHead(302, { location: `${base}/redirect-target` }).end();
      } else if (url.startsWith("/big")) {
        res.writeHead(200).end(Buffer.alloc(1024 * 1024, "a"));
      } else if (url.startsWith("/endless")) {
        // answers, then never ends the body
        res.writeHead(200, { "content-type": "text/plain" }).write("accepted");
      } else if (url.startsWith("/hang")) {
        // never answers
      } else {
        res.writeHead(404).end();
      }
    });
  });
  server.on("connection", (socket) => {
    connections += 1;
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const dev = { timeoutMs: 5_000, allowPrivate: true };
const prod = { timeoutMs: 5_000, allowPrivate: false };

describe("sendWebhook with allowPrivate", () => {
  it("delivers the body and headers exactly and returns status and body", async () => {
    const body = JSON.stringify({ type: "contact.created", data: { name: "Zoë", emoji: "🎉" } });
    const outcome = await sendWebhook(
      {
        url: `${base}/ok?x=1`,
        body,
        headers: { "webhook-id": "msg_1", "webhook-signature": "v1,abc=", "X-Custom-Thing": "yes" },
      },
      dev,
    );
    expect(outcome).toMatchObject({ kind: "response", status: 200, body: "thanks" });
    expect(Number.isInteger(outcome.durationMs)).toBe(true);
    const seen = requests.find((r) => r.url === "/ok?x=1");
    expect(seen).toBeDefined();
    expect(seen?.method).toBe("POST");
    expect(seen?.body).toBe(body);
    expect(seen?.headers["webhook-id"]).toBe("msg_1");
    expect(seen?.headers["webhook-signature"]).toBe("v1,abc=");
    expect(seen?.headers["x-custom-thing"]).toBe("yes");
    expect(seen?.headers["content-type"]).toBe("application/json");
    expect(seen?.headers["user-agent"]).toBe("engagement-graph-webhooks/1");
    expect(seen?.headers["content-length"]).toBe(String(Buffer.byteLength(body)));
    expect(seen?.headers["host"]).toBe(`127.0.0.1:${port}`);
  });

  it("keeps a caller's content-type and user-agent", async () => {
    await sendWebhook(
      { url: `${base}/ok-custom`, body: "{}", headers: { "Content-Type": "application/cloudevents+json", "User-Agent": "mine" } },
      dev,
    );
    const seen = requests.find((r) => r.url === "/ok-custom");
    expect(seen?.headers["content-type"]).toBe("application/cloudevents+json");
    expect(seen?.headers["user-agent"]).toBe("mine");
  });

  it("does not let caller headers override host or content-length", async () => {
    const outcome = await sendWebhook(
      { url: `${base}/ok-host`, body: "{\"a\":1}", headers: { host: "internal.example", "Content-Length": "1" } },
      dev,
    );
    expect(outcome.kind).toBe("response");
    const seen = requests.find((r) => r.url === "/ok-host");
    expect(seen?.headers["host"]).toBe(`127.0.0.1:${port}`);
    expect(seen?.headers["content-length"]).toBe("7");
    expect(seen?.body).toBe("{\"a\":1}");
  });

  it("returns a 500 as a response", async () => {
    const outcome = await sendWebhook({ url: `${base}/fail`, body: "{}", headers: {} }, dev);
    expect(outcome).toMatchObject({ kind: "response", status: 500, body: "boom" });
  });

  it("returns a redirect as a response without following it", async () => {
    const outcome = await sendWebhook({ url: `${base}/redirect`, body: "{}", headers: {} }, dev);
    expect(outcome).toMatchObject({ kind: "response", status: 302 });
    expect(requests.some((r) => r.url === "/redirect")).toBe(true);
    expect(requests.some((r) => r.url === "/redirect-target")).toBe(false);
  });

  it("cuts a large response body to the default 1024 bytes", async () => {
    const outcome = await sendWebhook({ url: `${base}/big`, body: "{}", headers: {} }, dev);
    expect(outcome.kind).toBe("response");
    if (outcome.kind !== "response") return;
    expect(outcome.status).toBe(200);
    expect(outcome.body).toBe("a".repeat(1024));
  });

  it("cuts a large response body to maxResponseBytes", async () => {
    const outcome = await sendWebhook({ url: `${base}/big`, body: "{}", headers: {} }, { ...dev, maxResponseBytes: 10 });
    expect(outcome).toMatchObject({ kind: "response", status: 200, body: "a".repeat(10) });
  });

  it("fails with a timeout when the server never answers", async () => {
    const outcome = await sendWebhook({ url: `${base}/hang`, body: "{}", headers: {} }, { ...dev, timeoutMs: 300 });
    expect(outcome.kind).toBe("failed");
    if (outcome.kind !== "failed") return;
    expect(outcome.error).toMatch(/timed out after 300 ms/);
  });

  it("returns the answer of a server that answered but never ends its body, once the time is up", async () => {
    const outcome = await sendWebhook({ url: `${base}/endless`, body: "{}", headers: {} }, { ...dev, timeoutMs: 300 });
    expect(outcome).toMatchObject({ kind: "response", status: 200, body: "accepted" });
  });

  it("fails when nothing listens on the port", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const outcome = await sendWebhook({ url: `http://127.0.0.1:${closedPort}/`, body: "{}", headers: {} }, dev);
    expect(outcome.kind).toBe("failed");
    if (outcome.kind !== "failed") return;
    expect(outcome.error).toMatch(/ECONNREFUSED/);
  });

  it("fails when the host does not resolve", async () => {
    const outcome = await sendWebhook({ url: "http://no-such-host.invalid/", body: "{}", headers: {} }, dev);
    expect(outcome.kind).toBe("failed");
  });

  it("refuses a header value with a line break without echoing it", async () => {
    const before = connections;
    const outcome = await sendWebhook({ url: `${base}/ok`, body: "{}", headers: { "x-a": "secret\r\nx-b: 1" } }, dev);
    expect(outcome.kind).toBe("refused");
    if (outcome.kind !== "refused") return;
    expect(outcome.error).not.toContain("secret");
    expect(connections).toBe(before);
  });
});

describe("sendWebhook without allowPrivate", () => {
  it("refuses http://", async () => {
    const before = connections;
    const outcome = await sendWebhook({ url: `${base}/ok`, body: "{}", headers: {} }, prod);
    expect(outcome.kind).toBe("refused");
    expect(connections).toBe(before);
  });

  const targets = () => [
    `https://127.0.0.1:${port}/`,
    "https://127.0.0.1/",
    `https://localhost:${port}/`,
    "https://localhost/",
    "https://10.0.0.1/",
    "https://169.254.169.254/latest",
    "https://[::1]/",
    `https://[::ffff:127.0.0.1]:${port}/`,
    "https://[::ffff:127.0.0.1]/",
    "https://[fec0::1]/",
    "https://100.64.0.1/",
    "https://0.0.0.0/",
    `https://0x7f.1:${port}/`,
  ];

  it("refuses private, loopback and metadata targets without connecting", async () => {
    const before = connections;
    const seenBefore = requests.length;
    for (const url of targets()) {
      const outcome = await sendWebhook({ url, body: "{}", headers: {} }, prod);
      expect(outcome.kind, url).toBe("refused");
    }
    expect(connections).toBe(before);
    expect(requests.length).toBe(seenBefore);
  });
});

describe("DNS resolution", () => {
  type Lookup = typeof dns.promises.lookup;
  // Replaces the resolver for one call; tests in a file run one at a time.
  async function withResolver<T>(addresses: { address: string; family: number }[], run: () => Promise<T>) {
    const original: Lookup = dns.promises.lookup;
    let calls = 0;
    const fake = async () => {
      calls += 1;
      return addresses;
    };
    dns.promises.lookup = fake as unknown as Lookup;
    try {
      return { result: await run(), calls };
    } finally {
      dns.promises.lookup = original;
    }
  }

  it("refuses a host when any one of its addresses is private", async () => {
    const before = connections;
    const { result } = await withResolver(
      [
        { address: "93.184.215.14", family: 4 },
        { address: "127.0.0.1", family: 4 },
      ],
      () => sendWebhook({ url: `https://mixed.test:${port}/`, body: "{}", headers: {} }, prod),
    );
    expect(result.kind).toBe("refused");
    expect(connections).toBe(before);
  });

  it("resolves once and connects to the resolved address with the original Host", async () => {
    const { result, calls } = await withResolver([{ address: "127.0.0.1", family: 4 }], () =>
      sendWebhook({ url: `http://pinned.test:${port}/ok-pinned`, body: "{}", headers: {} }, dev),
    );
    expect(result).toMatchObject({ kind: "response", status: 200 });
    expect(calls).toBe(1);
    expect(requests.find((r) => r.url === "/ok-pinned")?.headers["host"]).toBe(`pinned.test:${port}`);
  });
});

describe("webhookUrlProblem", () => {
  it("accepts a public https URL", () => {
    expect(webhookUrlProblem("https://example.com/hook", false)).toBeNull();
    expect(webhookUrlProblem("https://93.184.215.14/hook", false)).toBeNull();
  });

  it("refuses other schemes", () => {
    expect(webhookUrlProblem("ftp://example.com/hook", false)).not.toBeNull();
    expect(webhookUrlProblem("ftp://example.com/hook", true)).not.toBeNull();
    expect(webhookUrlProblem("http://example.com/hook", false)).not.toBeNull();
    expect(webhookUrlProblem("http://example.com/hook", true)).toBeNull();
  });

  it("refuses credentials", () => {
    expect(webhookUrlProblem("https://user:pass@example.com/hook", false)).toMatch(/credentials/);
    expect(webhookUrlProblem("https://user@example.com/hook", true)).toMatch(/credentials/);
  });

  it("refuses spaces and control characters, which the URL parser would drop silently", () => {
    expect(webhookUrlProblem("https://hooks.example.com/a\nb", false)).toMatch(/control characters/);
    expect(webhookUrlProblem("https://hooks.example.com/a\tb", true)).toMatch(/control characters/);
    expect(webhookUrlProblem(" https://hooks.example.com/", false)).toMatch(/control characters/);
  });

  it("refuses a malformed URL", () => {
    expect(webhookUrlProblem("not a url", false)).not.toBeNull();
    expect(webhookUrlProblem("https://", false)).not.toBeNull();
  });

  it("refuses a URL that is too long", () => {
    const long = `https://example.com/${"a".repeat(2048)}`;
    expect(webhookUrlProblem(long, false)).toMatch(/2048/);
  });

  it("refuses private literal IPs only when private targets are not allowed", () => {
    for (const url of [
      "https://127.0.0.1/",
      "https://10.1.2.3/",
      "https://192.168.0.1/",
      "https://169.254.169.254/latest",
      "https://[::1]/",
      "https://[::ffff:10.0.0.1]/",
      "https://[fd00::1]/",
      "https://100.64.0.1/",
    ]) {
      expect(webhookUrlProblem(url, false), url).not.toBeNull();
      expect(webhookUrlProblem(url, true), url).toBeNull();
    }
  });
});
