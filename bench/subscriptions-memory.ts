// Shared by the two servers of `npm run bench:live`: what they report about themselves.
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import { getHeapSpaceStatistics } from "node:v8";

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
  /**
   * What V8's young generation has committed (new space and new large-object space). V8 grows
   * and shrinks it with the allocation rate, by tens of MiB, and RSS with it.
   */
  youngGeneration: number;
  /** True when taken after forced full GCs, false when after a settle delay only. */
  afterGc: boolean;
  /** Open subscriptions / sockets the server counts at that moment. */
  streams: number;
  connections: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Memory once it has settled: a full GC every 250 ms (with --expose-gc; without it, a 2 s
 * delay first) until RSS has stayed within 256 KiB for 3 s (V8 and the allocator hand freed
 * pages back to the OS seconds after a GC, not at once), or 15 s have passed.
 */
export async function memorySnapshot(counts: { streams: number; connections: number }): Promise<MemorySnapshot> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) await sleep(2_000);
  const readings: number[] = [];
  const window = 12;
  for (let i = 0; i < 60; i++) {
    gc?.();
    await sleep(250);
    readings.push(process.memoryUsage.rss());
    const recent = readings.slice(-window);
    if (recent.length === window && Math.max(...recent) - Math.min(...recent) < 256 * 1024) break;
  }
  const usage = process.memoryUsage();
  return {
    rss: usage.rss,
    heapUsed: usage.heapUsed,
    heapTotal: usage.heapTotal,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
    youngGeneration: getHeapSpaceStatistics()
      .filter((space) => space.space_name === "new_space" || space.space_name === "new_large_object_space")
      .reduce((sum, space) => sum + space.space_size, 0),
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

/**
 * GC pauses in this process as V8 reports them: total milliseconds so far, and the longest
 * single pause since the previous reading.
 */
export function gcClock(): () => { totalMs: number; longestMs: number } {
  let total = 0;
  let longest = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      total += entry.duration;
      longest = Math.max(longest, entry.duration);
    }
  });
  observer.observe({ entryTypes: ["gc"] });
  return () => {
    const reading = { totalMs: total, longestMs: longest };
    longest = 0;
    return reading;
  };
}
