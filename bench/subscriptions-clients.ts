// Subscribers for `npm run bench:live`, in a process of their own (the server's sockets and
// these each count against `ulimit -n` in their own process). Each subscriber is its own
// WebSocket connection:
//
//   graphql   the graphql-ws client library (createClient over `ws`): connection_init with
//             { authorization: "Bearer …" }, then one `subscribe` to the inbox subscription
//   plain     a bare `ws` WebSocket to the baseline server, which sends graphql-ws `next`
//             frames with the same payloads
//
// On each payload a subscriber takes the time (after the frame was parsed, on the shared
// monotonic clock, see subscriptions-ipc.ts), finds the event by its message content, and
// records it; duplicates, unknown payloads and payloads that differ from the first one this
// process saw for the same event are counted. The parent collects the times afterwards.
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { now, serve } from "./subscriptions-ipc.js";

export interface ConnectArgs {
  mode: "graphql" | "plain";
  url: string;
  token: string;
  query: string;
  /** Subscribers this process holds in the end. */
  count: number;
  /** Connect until this many are open (so a run can stop half way to measure); default `count`. */
  until?: number;
  /** Connections being opened at once. */
  concurrency: number;
  /** Every event's message content, in event order: how a payload is matched to its event. */
  contents: string[];
}

export interface ConnectResult {
  connected: number;
  failed: number;
  firstError?: string;
  ms: number;
}

export interface Progress {
  /** Per event: how many of this process's subscribers have it. */
  perEvent: number[];
  duplicates: number;
  unknown: number;
  /** Sockets that closed or subscriptions that errored or completed before the end. */
  lost: number;
  firstProblem?: string;
}

export interface EventResults {
  /** times[e][s]: when subscriber s received event e; NaN if it did not. */
  times: Float64Array[];
  /** Per event: the payload (JSON) as the first subscriber received it, or null. */
  payloads: (string | null)[];
  /** Per event: receipts whose payload differed from that first one. */
  mismatches: number[];
  /** Up to three differing payloads per event, for the report. */
  differing: string[][];
}

interface Subscriber {
  close(): void;
}

const subscribers: Subscriber[] = [];
/** The next subscriber index to open. */
let next = 0;
let contents = new Map<string, number>();
let times: Float64Array[] = [];
let perEvent: number[] = [];
let payloads: (string | null)[] = [];
let mismatches: number[] = [];
let differing: string[][] = [];
let duplicates = 0;
let unknown = 0;
let lost = 0;
let firstProblem: string | undefined;
let closing = false;

function problem(what: string): void {
  firstProblem ??= what.slice(0, 2_000);
}

interface InboxPayload {
  data?: { conversationEvents?: { message?: { content?: string } | null } } | null;
}

/** One payload for subscriber `s`, received at `at`. */
function received(s: number, payload: unknown, at: number): void {
  const content = (payload as InboxPayload | undefined)?.data?.conversationEvents?.message?.content;
  const event = content === undefined ? undefined : contents.get(content);
  if (event === undefined) {
    unknown += 1;
    return problem(`unexpected payload: ${JSON.stringify(payload)}`);
  }
  const row = times[event]!;
  if (!Number.isNaN(row[s]!)) {
    duplicates += 1;
    return;
  }
  row[s] = at;
  perEvent[event]! += 1;
  const text = JSON.stringify(payload);
  const first = payloads[event];
  if (first == null) payloads[event] = text;
  else if (first !== text) {
    mismatches[event]! += 1;
    if (differing[event]!.length < 3 && !differing[event]!.includes(text)) differing[event]!.push(text);
  }
}

function openGraphql(s: number, args: ConnectArgs): Promise<Subscriber> {
  return new Promise((resolve, reject) => {
    let connected = false;
    const client: Client = createClient({
      url: args.url,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${args.token}` },
      lazy: true,
      retryAttempts: 0,
      on: {
        connected: () => {
          connected = true;
          resolve({ close: () => void client.dispose() });
        },
        closed: (event) => {
          if (!connected) return reject(new Error(`closed before connection_ack: ${describe(event)}`));
          if (closing) return;
          lost += 1;
          problem(`subscriber ${s}: socket closed: ${describe(event)}`);
        },
      },
    });
    client.subscribe(
      { query: args.query },
      {
        next: (value) => received(s, value, now()),
        error: (error) => {
          if (closing || !connected) return;
          lost += 1;
          problem(`subscriber ${s}: subscription error: ${describe(error)}`);
        },
        complete: () => {
          if (closing) return;
          lost += 1;
          problem(`subscriber ${s}: subscription completed by the server`);
        },
      },
    );
  });
}

function openPlain(s: number, args: ConnectArgs): Promise<Subscriber> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(args.url);
    let open = false;
    socket.on("open", () => {
      open = true;
      resolve({ close: () => socket.close() });
    });
    socket.on("message", (data: Buffer, isBinary: boolean) => {
      if (isBinary) return problem("binary frame");
      // The graphql-ws client parses each frame and hands `payload` to the sink; the same here.
      const message = JSON.parse(data.toString("utf8")) as { type: string; payload: unknown };
      if (message.type === "next") received(s, message.payload, now());
    });
    socket.on("error", (error) => {
      if (!open) reject(error);
    });
    socket.on("close", (code, reason) => {
      if (!open || closing) return;
      lost += 1;
      problem(`subscriber ${s}: socket closed: ${code} ${reason.toString()}`);
    });
  });
}

function describe(value: unknown): string {
  if (value instanceof Error) return value.message;
  const event = value as { code?: number; reason?: string };
  if (event && typeof event.code === "number") return `${event.code} ${event.reason ?? ""}`;
  return JSON.stringify(value);
}

serve({
  async connect(args: ConnectArgs): Promise<ConnectResult> {
    if (next === 0) {
      contents = new Map(args.contents.map((content, i) => [content, i]));
      times = args.contents.map(() => new Float64Array(args.count).fill(Number.NaN));
      perEvent = args.contents.map(() => 0);
      payloads = args.contents.map(() => null);
      mismatches = args.contents.map(() => 0);
      differing = args.contents.map(() => []);
    }
    const until = Math.min(args.until ?? args.count, args.count);
    const open = args.mode === "graphql" ? openGraphql : openPlain;
    const started = now();
    const before = subscribers.length;
    let failed = 0;
    let firstError: string | undefined;
    const worker = async () => {
      while (next < until) {
        const s = next++;
        try {
          subscribers.push(await open(s, args));
        } catch (error) {
          failed += 1;
          firstError ??= describe(error);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(args.concurrency, until - next)) }, worker));
    return { connected: subscribers.length - before, failed, firstError, ms: now() - started };
  },
  progress: (): Progress => ({ perEvent, duplicates, unknown, lost, firstProblem }),
  results: ({ events }: { events: number[] }): EventResults => ({
    times: events.map((e) => times[e]!),
    payloads: events.map((e) => payloads[e]!),
    mismatches: events.map((e) => mismatches[e]!),
    differing: events.map((e) => differing[e]!),
  }),
  cpu: () => process.cpuUsage(),
  close() {
    closing = true;
    for (const subscriber of subscribers) subscriber.close();
    setTimeout(() => process.exit(0), 200);
  },
});
