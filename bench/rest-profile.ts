// CPU profiles for `npm run bench:rest` (bench/rest.ts) when BENCH_CPU_PROFILE names a
// directory: the V8 sampling profiler of the server's process (the one `node --cpu-prof`
// uses), started and stopped around each measured run through node:inspector so that every
// run gets a .cpuprofile of its own (open them in Chrome DevTools or speedscope). The
// summary compares, per request served, where REST and GraphQL spend their CPU time.
import { writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { fileURLToPath } from "node:url";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export class Profiler {
  private session: Session | undefined;

  async start(samplingIntervalUs: number): Promise<void> {
    this.session = new Session();
    this.session.connect();
    await this.session.post("Profiler.enable");
    await this.session.post("Profiler.setSamplingInterval", { interval: samplingIntervalUs });
    await this.session.post("Profiler.start");
  }

  /** Stops, writes the profile to `file`, and returns it. */
  async stop(file: string): Promise<CpuProfile> {
    const session = this.session;
    if (!session) throw new Error("the profiler is not running");
    this.session = undefined;
    const { profile } = await session.post("Profiler.stop");
    await session.post("Profiler.disable");
    session.disconnect();
    await writeFile(file, JSON.stringify(profile));
    return profile as CpuProfile;
  }
}

/** Microseconds of CPU per key: self (in that frame) and total (in it or anything it called). */
export interface ProfileSummary {
  /** Sampled time not idle, µs. */
  busy: number;
  selfByFunction: Map<string, number>;
  totalByFunction: Map<string, number>;
  selfByGroup: Map<string, number>;
}

/** Four sampling intervals as bench/rest.ts sets them (250 µs). */
const MAX_SAMPLE_US = 1_000;

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** Where a frame's code lives: a package, a file of this project, node's internals, or V8. */
function groupOf(frame: CallFrame): string {
  const url = frame.url;
  if (url === "") return frame.functionName.startsWith("(") ? frame.functionName : "(native)";
  if (url.startsWith("node:")) return "node internals";
  const path = url.startsWith("file://") ? fileURLToPath(url) : url;
  const packaged = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (packaged) return packaged[1]!;
  return path.startsWith(ROOT) ? path.slice(ROOT.length) : path;
}

/** Name and place; tsx's output keeps few line breaks, so the column tells this project's functions apart. */
function functionKey(frame: CallFrame): string {
  const where = frame.url === "" ? "" : ` ${groupOf(frame)}:${frame.lineNumber + 1}:${frame.columnNumber + 1}`;
  return `${frame.functionName || "(anonymous)"}${where}`;
}

const add = <K>(map: Map<K, number>, key: K, value: number) => map.set(key, (map.get(key) ?? 0) + value);

/** Adds a profile's sampled time into `into` (or a new summary). */
export function summarise(profile: CpuProfile, into?: ProfileSummary): ProfileSummary {
  const summary = into ?? { busy: 0, selfByFunction: new Map(), totalByFunction: new Map(), selfByGroup: new Map() };
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const selfOf = new Map<number, number>();
  // Sample i covers the time until the next one, but at most MAX_SAMPLE_US: a longer gap is
  // this thread waiting for a CPU (other processes run on this machine), which would
  // otherwise be charged to whatever code happened to be preempted.
  for (let i = 0; i < samples.length; i++) add(selfOf, samples[i]!, Math.min(deltas[i + 1] ?? 0, MAX_SAMPLE_US));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  for (const [id, time] of selfOf) {
    const node = byId.get(id)!;
    const group = groupOf(node.callFrame);
    if (group === "(idle)") continue;
    summary.busy += time;
    add(summary.selfByFunction, functionKey(node.callFrame), time);
    add(summary.selfByGroup, group, time);
    // Total: once per distinct function on the stack (recursion counted once).
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const key = functionKey(byId.get(at)!.callFrame);
      if (seen.has(key)) continue;
      seen.add(key);
      add(summary.totalByFunction, key, time);
    }
  }
  return summary;
}

/**
 * The `limit` keys whose per-request time differs most between REST and GraphQL (REST
 * minus GraphQL), as table rows in µs per request.
 */
export function largestDifferences(
  rest: Map<string, number>,
  restRequests: number,
  graphql: Map<string, number>,
  graphqlRequests: number,
  limit: number,
): string[][] {
  const keys = new Set([...rest.keys(), ...graphql.keys()]);
  const rows = [...keys].map((key) => {
    const r = (rest.get(key) ?? 0) / restRequests;
    const g = (graphql.get(key) ?? 0) / graphqlRequests;
    return { key, r, g, delta: r - g };
  });
  rows.sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta));
  return rows.slice(0, limit).map(({ key, r, g, delta }) => [key.length > 90 ? `${key.slice(0, 87)}...` : key, r.toFixed(1), g.toFixed(1), `${delta >= 0 ? "+" : ""}${delta.toFixed(1)}`]);
}
