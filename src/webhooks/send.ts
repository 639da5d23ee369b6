// The only place that makes an outbound webhook request. The target URL is chosen by an
// integrator, so everything here assumes it is hostile: it may point at our own network
// (SSRF), at cloud metadata, or at a server that stalls or answers with an endless body.

import { promises as dns, type LookupAddress, type LookupOptions } from "node:dns";
import http from "node:http";
import https from "node:https";
import { isIP } from "node:net";
import { performance } from "node:perf_hooks";
import ipaddr from "ipaddr.js";

export interface WebhookRequest {
  url: string;
  /** Exact bytes to send (already signed by the caller). */
  body: string;
  headers: Record<string, string>;
}

export interface SendOptions {
  /** Total time for connect + request + response headers + reading the capped body. 10_000 in production. */
  timeoutMs: number;
  /** WEBHOOK_ALLOW_PRIVATE=true: allows http:// and loopback/private targets (development, tests). */
  allowPrivate: boolean;
  /** Bytes of the response body kept (the rest is not read; the socket is destroyed). Default 1024. */
  maxResponseBytes?: number;
}

export type SendOutcome =
  | { kind: "response"; status: number; durationMs: number; body: string }
  | { kind: "refused"; durationMs: number; error: string }
  | { kind: "failed"; durationMs: number; error: string };

const MAX_URL_LENGTH = 2048;
const DEFAULT_MAX_RESPONSE_BYTES = 1024;

// Framing and routing are ours: a caller-supplied Host would let the request reach a
// different virtual host than the one that was checked, and a caller-supplied length or
// transfer encoding would desynchronise the message from the bytes actually sent.
const RESERVED_HEADERS = new Set(["host", "content-length", "transfer-encoding", "connection"]);

type Target = { url: URL; hostname: string };
type Result =
  | { kind: "response"; status: number; body: string }
  | { kind: "refused"; error: string }
  | { kind: "failed"; error: string };

/** Checks a URL before it is stored (registration): scheme and syntax only, plus literal IP hosts; DNS is checked at send time. Returns an error message or null. */
export function webhookUrlProblem(url: string, allowPrivate: boolean): string | null {
  const parsed = parseTarget(url, allowPrivate);
  if ("problem" in parsed) return parsed.problem;
  if (!allowPrivate && isIP(parsed.hostname) !== 0) return addressProblem(parsed.hostname);
  return null;
}

export async function sendWebhook(request: WebhookRequest, options: SendOptions): Promise<SendOutcome> {
  const start = performance.now();
  const result = await attempt(request, options).catch(
    (error: unknown): Result => ({ kind: "failed", error: `unexpected error: ${errorMessage(error)}` }),
  );
  const durationMs = Math.round(performance.now() - start);
  return { ...result, durationMs };
}

async function attempt(request: WebhookRequest, options: SendOptions): Promise<Result> {
  const parsed = parseTarget(request.url, options.allowPrivate);
  if ("problem" in parsed) return { kind: "refused", error: parsed.problem };

  const headers = buildHeaders(request, parsed.url);
  if (typeof headers === "string") return { kind: "refused", error: headers };

  const timeoutMs = options.timeoutMs;
  const timedOut = `timed out after ${timeoutMs} ms`;
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  try {
    const resolved = await withDeadline(resolve(parsed.hostname), deadline.signal);
    if (resolved === "aborted") return { kind: "failed", error: timedOut };
    if ("error" in resolved) return { kind: "failed", error: resolved.error };

    if (!options.allowPrivate) {
      for (const { address } of resolved.addresses) {
        const problem = addressProblem(address);
        if (problem !== null) return { kind: "refused", error: `${parsed.hostname}: ${problem}` };
      }
    }

    const maxBytes = Math.max(0, Math.floor(options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES));
    return await exchange(parsed, resolved.addresses, headers, request.body, maxBytes, deadline.signal, timedOut);
  } finally {
    clearTimeout(timer);
  }
}

function parseTarget(raw: string, allowPrivate: boolean): Target | { problem: string } {
  if (raw.length > MAX_URL_LENGTH) return { problem: `URL is longer than ${MAX_URL_LENGTH} characters` };
  // The URL parser drops tabs and line breaks silently: what is stored must be what is called.
  if (/[\s\u0000-\u001f\u007f]/.test(raw)) return { problem: "URL must not contain spaces or control characters" };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { problem: "URL is not valid" };
  }
  const schemes = allowPrivate ? ["https:", "http:"] : ["https:"];
  if (!schemes.includes(url.protocol)) {
    return { problem: `URL scheme must be ${allowPrivate ? "https: or http:" : "https:"}, not ${url.protocol}` };
  }
  if (url.username !== "" || url.password !== "") return { problem: "URL must not contain credentials" };
  // WHATWG URLs keep the brackets around IPv6 literals; sockets and ipaddr.js want them bare.
  const hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  if (hostname === "") return { problem: "URL has no host" };
  return { url, hostname };
}

/** Null when the address is public unicast, otherwise why it is refused. */
function addressProblem(address: string): string | null {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address);
  } catch {
    return `address ${address} is not a valid IP address`;
  }
  // ::ffff:a.b.c.d reaches the IPv4 host a.b.c.d, so it must be judged as that host.
  if (parsed instanceof ipaddr.IPv6 && parsed.isIPv4MappedAddress()) parsed = parsed.toIPv4Address();
  const range = parsed.range();
  if (range !== "unicast") return `address ${address} is not a public address (${range})`;
  if (parsed instanceof ipaddr.IPv6) {
    // ipaddr.js calls these unicast, but both can be translated into IPv4 addresses of our own
    // network: deprecated IPv4-compatible ::a.b.c.d, and RFC 8215 local-use NAT64.
    if (parsed.match(ipaddr.IPv6.parse("::"), 96)) return `address ${address} is not a public address (ipv4Compatible)`;
    if (parsed.match(ipaddr.IPv6.parse("64:ff9b:1::"), 48)) return `address ${address} is not a public address (rfc8215)`;
    // Deprecated site-local addresses, still routed inside some networks.
    if (parsed.match(ipaddr.IPv6.parse("fec0::"), 10)) return `address ${address} is not a public address (siteLocal)`;
  }
  return null;
}

function buildHeaders(request: WebhookRequest, url: URL): Record<string, string> | string {
  const headers: Record<string, string> = {};
  const present = new Set<string>();
  for (const [name, value] of Object.entries(request.headers)) {
    const lower = name.toLowerCase();
    if (RESERVED_HEADERS.has(lower)) continue;
    // Node would throw from inside http.request; checking first keeps the failure an outcome,
    // and the messages name the header but never echo its value (it may be a signature).
    try {
      http.validateHeaderName(name);
    } catch {
      return "a header name is not a valid HTTP token";
    }
    try {
      http.validateHeaderValue(name, value);
    } catch {
      return `header ${lower} has an invalid value`;
    }
    headers[name] = value;
    present.add(lower);
  }
  if (!present.has("content-type")) headers["content-type"] = "application/json";
  if (!present.has("user-agent")) headers["user-agent"] = "engagement-graph-webhooks/1";
  headers["host"] = url.host;
  headers["content-length"] = String(Buffer.byteLength(request.body, "utf8"));
  return headers;
}

async function resolve(hostname: string): Promise<{ addresses: LookupAddress[] } | { error: string }> {
  const family = isIP(hostname);
  if (family !== 0) return { addresses: [{ address: hostname, family }] };
  try {
    const addresses = await dns.lookup(hostname, { all: true, verbatim: true });
    if (addresses.length === 0) return { error: `DNS lookup for ${hostname} returned no addresses` };
    return { addresses };
  } catch (error) {
    return { error: errorMessage(error) };
  }
}

async function withDeadline<T>(work: Promise<T>, signal: AbortSignal): Promise<T | "aborted"> {
  if (signal.aborted) return "aborted";
  // dns.lookup cannot be cancelled; a late answer is simply dropped.
  return new Promise<T | "aborted">((settle, fail) => {
    const onAbort = () => settle("aborted");
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        settle(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        fail(error);
      },
    );
  });
}

/**
 * Hands the socket layer the addresses that were already checked, so a second DNS answer
 * (rebinding) can never be what the connection uses. Hostname, SNI and Host stay the
 * original name, so certificate verification still checks the real hostname.
 */
function pinnedLookup(addresses: LookupAddress[]) {
  return (
    _hostname: string,
    options: LookupOptions,
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    const wanted = options.family === 4 || options.family === 6 ? options.family : 0;
    const usable = wanted === 0 ? addresses : addresses.filter((a) => a.family === wanted);
    const first = usable[0];
    if (first === undefined) {
      const error: NodeJS.ErrnoException = new Error(`no checked IPv${wanted} address`);
      error.code = "ENOTFOUND";
      callback(error, "");
      return;
    }
    // Node's happy-eyeballs connect asks for every address; all of them passed the check.
    if (options.all === true) callback(null, usable);
    else callback(null, first.address, first.family);
  };
}

function exchange(
  target: Target,
  addresses: LookupAddress[],
  headers: Record<string, string>,
  body: string,
  maxBytes: number,
  deadline: AbortSignal,
  timedOut: string,
): Promise<Result> {
  return new Promise<Result>((settle) => {
    if (deadline.aborted) {
      settle({ kind: "failed", error: timedOut });
      return;
    }
    const isHttps = target.url.protocol === "https:";
    const requestOptions: https.RequestOptions = {
      method: "POST",
      hostname: target.hostname,
      port: target.url.port === "" ? (isHttps ? 443 : 80) : Number(target.url.port),
      path: `${target.url.pathname}${target.url.search}`,
      headers,
      lookup: pinnedLookup(addresses),
      // A pooled socket could outlive this exchange and be reused for a different check.
      agent: false,
    };
    // An IP literal is not a valid SNI name (RFC 6066); the certificate is then checked against the IP.
    if (isHttps && isIP(target.hostname) === 0) requestOptions.servername = target.hostname;

    let done = false;
    let req: http.ClientRequest | undefined;
    /** Set once the status line arrived: the answer, with as much body as came. */
    let answered: (() => void) | undefined;
    const finish = (result: Result) => {
      if (done) return;
      done = true;
      deadline.removeEventListener("abort", onAbort);
      settle(result);
    };
    const onAbort = () => {
      // A receiver that answered but never ends its body has still answered.
      if (answered) return answered();
      finish({ kind: "failed", error: timedOut });
      req?.destroy();
    };
    deadline.addEventListener("abort", onAbort, { once: true });

    req = (isHttps ? https : http).request(requestOptions, (res) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      const complete = () => {
        // The status arrived, so even a body cut short by the peer is still its answer.
        finish({ kind: "response", status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") });
        res.destroy();
        req?.destroy();
      };
      if (done) {
        res.destroy();
        req?.destroy();
        return;
      }
      answered = complete;
      if (maxBytes === 0) {
        complete();
        return;
      }
      res.on("data", (chunk: Buffer) => {
        const room = maxBytes - kept;
        if (chunk.length >= room) {
          chunks.push(chunk.subarray(0, room));
          kept = maxBytes;
          complete();
        } else {
          chunks.push(chunk);
          kept += chunk.length;
        }
      });
      res.on("end", complete);
      res.on("error", complete);
      res.on("close", complete);
    });
    req.on("error", (error) => finish({ kind: "failed", error: errorMessage(error) }));
    req.end(body, "utf8");
  });
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
