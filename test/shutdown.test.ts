// Graceful shutdown, the way an operator sees it: the real service started as `npm start`
// does (tsx src/main.ts) in a child process, then SIGTERM. Live clients are told the server
// is going away, an in-flight request still gets its answer, the process exits 0, and the
// port no longer accepts connections.
//
// The child runs on the embedded database in memory (DATA_DIR=memory://) with in-process
// events, whatever DATABASE_URL or REDIS_URL the test run has: it writes nothing and needs
// nothing. So this file runs once, in the "embedded" project, and is skipped in "postgres"
// where it would only repeat the same thing.
//
// Known to fail against the current src/http/server.ts, on the soft timing check only: the
// process exits about 4 s after the last in-flight request is answered instead of at once.
// app.close() calls server.closeIdleConnections() once, early; connections that turn idle
// after that (the SSE response that just ended, the in-flight request just answered, both
// still sent with "Connection: keep-alive") stay open until the client drops them or the
// server's 5 s keepAliveTimeout fires, and server.close() waits for them.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import http from "node:http";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { createClient, type Client } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { WebSocket } from "ws";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns something truthy; fails with `what` (computed then) after `timeoutMs`. */
async function waitFor<T>(what: string | (() => string), check: () => T | Promise<T>, timeoutMs = 5_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === "string" ? what : what()}`);
    await sleep(20);
  }
}

/** Whether a new TCP connection to the port is refused (rather than accepted). */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", (error: NodeJS.ErrnoException) => (error.code === "ECONNREFUSED" ? resolve(true) : reject(error)));
  });
}

let child: ChildProcessWithoutNullStreams | undefined;
let wsClient: Client | undefined;
let sseAbort: AbortController | undefined;
afterAll(async () => {
  sseAbort?.abort();
  await wsClient?.dispose();
  // Only if a failed assertion left it running.
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill("SIGKILL");
    await once(child, "exit");
  }
});

describe.skipIf(process.env.TEST_DATABASE === "postgres")("SIGTERM (runs once, in the embedded project)", () => {
  let started: ChildProcessWithoutNullStreams;
  let exited: Promise<[number | null, NodeJS.Signals | null]>;
  let stdout = "";
  let stderr = "";
  const output = () => `stdout:\n${stdout}\nstderr:\n${stderr}`;
  let url: string;
  let port: number;
  let token: string;

  // Starting takes a few seconds (tsx compiles, the embedded database migrates), far more on
  // a busy machine: it gets the hook's time, not the test's.
  beforeAll(async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: "0", HOST: "127.0.0.1", DATA_DIR: "memory://" };
    delete env.DATABASE_URL;
    delete env.REDIS_URL;
    started = spawn(`${ROOT}node_modules/.bin/tsx`, ["src/main.ts"], { cwd: ROOT, env });
    child = started;
    started.stdout.setEncoding("utf8").on("data", (chunk: string) => void (stdout += chunk));
    started.stderr.setEncoding("utf8").on("data", (chunk: string) => void (stderr += chunk));
    exited = once(started, "exit") as Promise<[number | null, NodeJS.Signals | null]>;

    // PORT=0 binds a free port, and the printed URL names the port actually bound.
    const printed = await waitFor("the service to print its URL", () => {
      if (started.exitCode !== null) throw new Error(`the service exited with ${started.exitCode}\n${output()}`);
      return /GraphQL API on (http:\/\/127\.0\.0\.1:(\d+)\/graphql) /.exec(stdout);
    }, 80_000);
    url = printed[1]!;
    port = Number(printed[2]);
    token = await waitFor("the demo token", () => /^ {2}(convo_[0-9a-f]+)$/m.exec(stdout)?.[1]);
  }, 90_000);

  test("closes WebSockets with 1001, ends SSE streams, answers the in-flight request, exits 0, then refuses connections", async () => {
    expect(port).toBeGreaterThan(0);
    const post = async (query: string, variables: Record<string, unknown> = {}) => {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { data?: Record<string, unknown>; errors?: unknown };
      expect(body.errors).toBeUndefined();
      return body.data!;
    };
    const first = (await post(`{ conversations(first: 1) { edges { node { id } } } }`)) as { conversations: { edges: { node: { id: string } }[] } };
    const conversationId = first.conversations.edges[0]!.node.id;
    const subscription = `subscription { conversationEvents { type message { content } } }`;

    // A graphql-ws subscription. Not lazy and never retrying: the socket closes only when the
    // server closes it, with the server's code.
    const closeCodes: number[] = [];
    const wsResults: unknown[] = [];
    let wsEnded: { error?: unknown } | undefined;
    wsClient = createClient({
      url: url.replace(/^http/, "ws"),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      lazy: false,
      retryAttempts: 0,
      onNonLazyError: () => {},
      on: { closed: (event) => void closeCodes.push((event as { code: number }).code) },
    });
    wsClient.subscribe(
      { query: subscription },
      { next: (result) => void wsResults.push(result), error: (error) => void (wsEnded = { error }), complete: () => void (wsEnded = {}) },
    );

    // An SSE subscription (GraphQL over SSE, distinct connections mode), read to its end.
    sseAbort = new AbortController();
    const sse = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: subscription }),
      signal: sseAbort.signal,
    });
    expect(sse.status).toBe(200);
    expect(sse.headers.get("content-type")).toMatch(/^text\/event-stream/);
    let sseText = "";
    const sseDone = (async () => {
      const reader = sse.body!.pipeThrough(new TextDecoderStream()).getReader();
      for (let part = await reader.read(); !part.done; part = await reader.read()) sseText += part.value;
      return "done";
    })().catch((error: Error) => `failed: ${error.message}`);

    // Both are live once both see a change. The SSE response's headers mean its subscription
    // is open; the WebSocket's is opened after connection_init and subscribe went through, which
    // nothing here observes, so the change is repeated until the WebSocket sees one.
    const say = (content: string) =>
      post(`mutation($id: ID!, $content: String!) { sendOperatorMessage(conversationId: $id, content: $content) { id } }`, { id: conversationId, content });
    for (let attempt = 1; wsResults.length === 0; attempt += 1) {
      await say("are you there?");
      await waitFor("", () => wsResults.length > 0, 500).catch((error: Error) => {
        if (attempt === 10) throw error;
      });
    }
    await waitFor(
      () => `the change on both subscriptions (graphql-ws: ${JSON.stringify(wsResults)}, ended: ${JSON.stringify(wsEnded)}; SSE: ${JSON.stringify(sseText)})\n${output()}`,
      () => sseText.includes("are you there?"),
    );
    expect(wsResults[0]).toEqual({ data: { conversationEvents: { type: "MESSAGE_ADDED", message: { content: "are you there?" } } } });

    // An in-flight request made reliably slow: its headers are in (the server answered
    // "100 Continue", so the request has reached the handler) but its body comes only after
    // the signal. The service must wait for it and answer it.
    const body = JSON.stringify({ query: `{ viewer { tenant { name } } }` });
    const inFlight = http.request(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
        authorization: `Bearer ${token}`,
        expect: "100-continue",
      },
    });
    const inFlightResponse = new Promise<{ status: number; body: string }>((resolve, reject) => {
      inFlight.on("response", (response) => {
        let text = "";
        response.setEncoding("utf8").on("data", (chunk: string) => void (text += chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text }));
        response.on("error", reject);
      });
      inFlight.on("error", reject);
    });
    inFlight.flushHeaders();
    await once(inFlight, "continue");

    const signalled = Date.now();
    expect(started.kill("SIGTERM")).toBe(true);
    await waitFor("the service to acknowledge the signal", () => stdout.includes("SIGTERM: finishing in-flight requests, then stopping"));

    // Live clients are told at once: the WebSocket closes with 1001 Going Away, the SSE
    // response ends normally (the stream is done, no error).
    await waitFor("the WebSocket to close", () => closeCodes.length > 0, 3_000);
    expect(closeCodes).toEqual([1001]);
    expect(await Promise.race([sseDone, sleep(3_000).then(() => "still open")])).toBe("done");
    expect(sseText).toContain("event: complete");
    const liveClosedMs = Date.now() - signalled;
    await waitFor("the WebSocket subscription to end", () => wsEnded, 1_000);
    const wsOutcome = wsEnded?.error ? `error (${JSON.stringify(wsEnded.error, ["code", "reason"])})` : "complete";

    // While the in-flight request holds the process up, the port refuses new connections.
    expect(started.exitCode).toBeNull();
    expect(await refused(port)).toBe(true);

    // The in-flight request completes normally.
    const bodySent = Date.now();
    inFlight.end(body);
    const answer = await inFlightResponse;
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ data: { viewer: { tenant: { name: "Demo Workspace" } } } });

    // Then the process exits 0, promptly.
    const [code, signal] = await Promise.race([exited, sleep(10_000).then(() => ["timeout", null] as const)]);
    const exitMs = Date.now() - bodySent;
    expect({ code, signal }, output()).toEqual({ code: 0, signal: null });
    console.info(`shutdown: live clients closed ${liveClosedMs} ms after SIGTERM (graphql-ws subscription: ${wsOutcome}); exit ${exitMs} ms after the in-flight request's body was sent`);

    // Nothing is left to wait for once the in-flight request is answered: the SSE response
    // ended, the WebSocket closed. (Soft, so that the checks below still run if this fails.)
    expect
      .soft(exitMs, "exit should not wait for keep-alive connections that went idle during shutdown (see the file's header)")
      .toBeLessThan(2_000);

    // And the port stays closed.
    expect(await refused(port)).toBe(true);
    await expect(fetch(url)).rejects.toThrow();
    expect(stderr).toBe("");
  });
});
