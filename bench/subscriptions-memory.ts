// Shared by the two servers of `npm run bench:live`: what they report about themselves.
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";

export interface ServerInfo {
  port: number;
  pid: number;
  /** Whether the process runs with --expose-gc (memory figures are then taken after a full GC). */
  gc: boolean;
  subscriberToken: string;
  writerToken: string;
  conversationIds: string[];
  database: string;
  bus: string;
}

export interface MemorySnapshot {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** True when taken after forced full GCs, false when after a settle delay only. */
  afterGc: boolean;
  /** Open subscriptions / sockets the server counts at that moment. */
  streams: number;
  connections: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Memory once it has settled: full GCs (with --expose-gc; without it, a 2 s delay first)
 * 250 ms apart until RSS moves by less than 256 KiB between two readings (freed pages go
 * back to the OS lazily), or 20 readings.
 */
export async function memorySnapshot(counts: { streams: number; connections: number }): Promise<MemorySnapshot> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) await sleep(2_000);
  let previous = Number.NaN;
  for (let i = 0; i < 20; i++) {
    gc?.();
    await sleep(250);
    const rss = process.memoryUsage.rss();
    if (Math.abs(rss - previous) < 256 * 1024) break;
    previous = rss;
  }
  const usage = process.memoryUsage();
  return {
    rss: usage.rss,
    heapUsed: usage.heapUsed,
    heapTotal: usage.heapTotal,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
    afterGc: Boolean(gc),
    ...counts,
  };
}

/**
 * How long the event loop was held up (ms) since the last reading, e.g. by a fan-out that
 * runs as one long chain of microtasks: nothing else (HTTP, pings) runs meanwhile.
 */
export function loopDelayClock(): () => { p99: number; max: number } {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  return () => {
    const reading = { p99: histogram.percentile(99) / 1e6, max: histogram.max / 1e6 };
    histogram.reset();
    return reading;
  };
}

/** Milliseconds spent in GC pauses so far in this process (main-thread pauses, as V8 reports them). */
export function gcClock(): () => number {
  let total = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) total += entry.duration;
  });
  observer.observe({ entryTypes: ["gc"] });
  return () => total;
}
