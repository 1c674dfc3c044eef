/**
 * What the macro suites (same_topology, gray_split, gateway) share: a deployment's processes and
 * their CPU time from /proc, the children's environment, and the autocannon load every variant
 * gets (every connection alternates `GET /a?group=gray` and `GET /a`: half the requests are gray).
 */
import { readdirSync, readFileSync } from 'node:fs';
import autocannon, { type Result } from 'autocannon';

export interface Deployment {
  readonly entry: number;
  /** Server processes whose CPU time counts for this variant (nginx masters: their workers too). */
  readonly pids: number[];
  readonly groupPids: number[];
  /** Process names, by pid (nginx masters stand for their workers too). */
  readonly names: Map<number, string>;
}

const REQUESTS = [
  { method: 'GET', path: '/a?group=gray' },
  { method: 'GET', path: '/a' },
];
const MAX_SAMPLES = 2_000_000;

/** The environment of the children, without a lane meant for someone else. */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ['GRAYLANE_LANE', 'MSE_ALICLOUD_SERVICE_TAG', 'alicloud.service.tag', 'traffic.opensergo.io/label', 'NACOS_SERVER_ADDR', 'NODE_OPTIONS']) {
    delete env[name];
  }
  env['NODE_ENV'] = 'production';
  return env;
}

export function names(procs: Record<string, { child: { pid?: number | undefined } } | undefined>): Map<number, string> {
  return new Map(Object.entries(procs).map(([name, p]): [number, string] => [p!.child.pid!, name]));
}

export interface LoadRun {
  readonly ok: number;
  readonly errors: number;
  readonly seconds: number;
  readonly p50: number;
  readonly p99: number;
}

/**
 * One autocannon run, bounded in time (and, as a guard, stopped 15 s after it should have ended).
 * Latencies of 2xx responses are appended to `sink` in fractional milliseconds (autocannon's own
 * histogram has 1 ms resolution, too coarse for per-hop figures).
 */
export function load(port: number, connections: number, durationS: number, sink: number[] = []): Promise<LoadRun> {
  const own: number[] = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      { url: `http://127.0.0.1:${port}`, connections, duration: durationS, timeout: 10, requests: REQUESTS },
      (error, result: Result) => {
        clearTimeout(guard);
        if (error) return reject(error);
        own.sort((a, b) => a - b);
        resolve({
          ok: result['2xx'],
          errors: result.errors + result.timeouts + result.non2xx,
          seconds: result.duration,
          p50: percentile(own, 0.5),
          p99: percentile(own, 0.99),
        });
      },
    );
    const guard = setTimeout(() => instance.stop(), (durationS + 15) * 1000);
    instance.on('response', (_client: unknown, status: number, _bytes: number, responseTime: number) => {
      if (status >= 200 && status < 300 && sink.length < MAX_SAMPLES) {
        sink.push(responseTime);
        own.push(responseTime);
      }
    });
  });
}

export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/**
 * CPU milliseconds (user + system) used so far by each of the deployment's processes, by name
 * (Linux /proc; nginx workers count for their master).
 */
export function cpuMs(d: Deployment): Map<string, number> {
  const ticks = 100; // USER_HZ on Linux
  const out = new Map<string, number>();
  const owners: Array<[pid: number, name: string]> = [...d.pids, ...d.groupPids].map((pid) => [pid, d.names.get(pid) ?? String(pid)]);
  if (d.groupPids.length > 0) {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = statOf(Number(entry));
      if (stat && d.groupPids.includes(stat.ppid)) owners.push([Number(entry), d.names.get(stat.ppid) ?? String(stat.ppid)]);
    }
  }
  for (const [pid, name] of owners) {
    const stat = statOf(pid);
    if (stat) out.set(name, (out.get(name) ?? 0) + ((stat.utime + stat.stime) * 1000) / ticks);
  }
  return out;
}

export function diff(after: Map<string, number>, before: Map<string, number>): Map<string, number> {
  return new Map([...after].map(([name, ms]) => [name, ms - (before.get(name) ?? 0)]));
}

export function sum(values: Map<string, number>): number {
  let total = 0;
  for (const v of values.values()) total += v;
  return total;
}

function statOf(pid: number): { ppid: number; utime: number; stime: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), utime: Number(fields[11]), stime: Number(fields[12]) };
  } catch {
    return undefined;
  }
}
