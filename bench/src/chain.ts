/**
 * Macro benchmark: the A → B → C chain as real processes on 127.0.0.1 under autocannon, in three
 * variants kept running side by side and loaded in interleaved rounds (the order rotates per round):
 *
 * - `plain`: A, B, C call each other directly with axios at fixed addresses; no graylane.
 * - `plain_entry` (diagnostic): `plain` behind a minimal Node reverse proxy, the extra process and
 *   hop that graylane's entry gateway also adds; splits the graylane − plain gap in two.
 * - `graylane`: entry gateway → A (base, gray) → B (base) → C (base, gray); Express middleware,
 *   axios interceptor, selection on the embedded file registry. The gateway decides the lane by
 *   rule (`?group=gray`).
 * - `proxy`: the plain services (A, C also with a gray instance) with one nginx in front of each
 *   service routing on `x-mse-tag` (the first decides it from `?group=gray`), like a sidecar or a
 *   gateway per hop.
 *
 * Every connection alternates `GET /a?group=gray` and `GET /a`: half the requests are gray.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import autocannon, { type Result } from 'autocannon';
import { delay, startNode, startServer, stopAll } from './children.js';
import { ensureNginx, nginxSite, nginxVersion } from './nginx.js';

export const VARIANTS = ['plain', 'plain_entry', 'graylane', 'proxy'] as const;
export type Variant = (typeof VARIANTS)[number];

export interface ChainOptions {
  readonly rounds: number;
  readonly durationS: number;
  readonly connections: number;
  readonly warmupS: number;
  /** Seconds per round of the unloaded (1 connection) latency run; 0 skips it. */
  readonly sequentialS: number;
  readonly distDir: string;
  readonly log: (line: string) => void;
}

export interface VariantFigures {
  /** Requests per second over all rounds (2xx responses / seconds under load). */
  readonly rps: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  /** Median and 99th percentile with one connection: latency without queueing. */
  readonly p50_c1_ms?: number;
  readonly p99_c1_ms?: number;
  /** CPU time of the variant's server processes per request (excludes the load generator). */
  readonly cpu_us_per_req: number;
  /** The same, per process: where the variant spends its CPU. */
  readonly cpu_us_per_req_by_process: Record<string, number>;
  readonly rounds_rps: number[];
  readonly requests: number;
  readonly errors: number;
  readonly processes: number;
}

export interface ChainResult {
  readonly connections: number;
  readonly rounds: number;
  readonly duration_s: number;
  readonly hops: number;
  readonly nginx: string;
  readonly plain: VariantFigures;
  readonly plain_entry: VariantFigures;
  readonly graylane: VariantFigures;
  readonly proxy: VariantFigures;
  readonly ratios: {
    readonly graylane_vs_plain_rps: number;
    readonly graylane_vs_plain_entry_rps: number;
    readonly plain_entry_vs_plain_rps: number;
    readonly graylane_vs_proxy_rps: number;
    readonly graylane_added_p50_us_per_hop: number;
    readonly graylane_added_p50_c1_us_per_hop?: number;
    readonly proxy_added_p50_us_per_hop: number;
  };
}

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
const HOPS = 3;
const MAX_SAMPLES = 2_000_000;

export async function benchChain(options: ChainOptions): Promise<ChainResult> {
  const { log } = options;
  const nginx = ensureNginx(log);
  const tmp = mkdtempSync(join(tmpdir(), 'graylane-bench-'));
  try {
    const script = (name: string) => join(options.distDir, 'procs', `${name}.js`);
    const env = cleanEnv();
    log('starting plain: a → b → c');
    const plain = await startPlain(script('plain-service'), env);
    log('starting graylane: gateway → a(base,gray) → b → c(base,gray) on a file registry');
    const graylane = await startGraylaneChain(script, { ...env, GRAYLANE_REGISTRY_DIR: join(tmp, 'registry') });
    log(`starting proxy: nginx (${nginxVersion(nginx)}) in front of each of a(base,gray), b, c(base,gray)`);
    const proxy = await startProxy(script('plain-service'), env, nginx, join(tmp, 'nginx'));
    log('starting plain_entry: a minimal Node reverse proxy in front of plain a');
    const entryProxy = await startNode('plain entry', script('plain-entry'), { ...env, TARGET: `127.0.0.1:${plain.entry}` });
    const plainEntry: Deployment = {
      entry: entryProxy.port,
      pids: [entryProxy.child.pid!, ...plain.pids],
      groupPids: [],
      names: new Map([...plain.names, [entryProxy.child.pid!, 'entry']]),
    };
    const deployments: Record<Variant, Deployment> = { plain, plain_entry: plainEntry, graylane, proxy };

    await verify('plain', plain.entry, ['A[base] B[base] C[base]', 'A[base] B[base] C[base]']);
    await verify('plain_entry', plainEntry.entry, ['A[base] B[base] C[base]', 'A[base] B[base] C[base]']);
    await verify('graylane', graylane.entry, ['A[gray] B[base] C[gray]', 'A[base] B[base] C[base]']);
    await verify('proxy', proxy.entry, ['A[gray] B[base] C[gray]', 'A[base] B[base] C[base]']);

    for (const variant of VARIANTS) {
      log(`warm-up ${variant} ${options.warmupS}s`);
      await load(deployments[variant].entry, options.connections, options.warmupS);
    }

    const acc: Record<Variant, ReturnType<typeof fresh>> = {
      plain: fresh(),
      plain_entry: fresh(),
      graylane: fresh(),
      proxy: fresh(),
    };
    for (let round = 0; round < options.rounds; round++) {
      const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]!);
      for (const variant of order) {
        const d = deployments[variant];
        const cpuBefore = cpuMs(d);
        const run = await load(d.entry, options.connections, options.durationS, acc[variant].latencies);
        const cpuBy = diff(cpuMs(d), cpuBefore);
        const cpu = sum(cpuBy);
        const a = acc[variant];
        a.ok += run.ok;
        a.seconds += run.seconds;
        a.errors += run.errors;
        a.cpuMs += cpu;
        for (const [name, ms] of cpuBy) a.cpuBy.set(name, (a.cpuBy.get(name) ?? 0) + ms);
        a.rounds.push(run.ok / run.seconds);
        log(`round ${round + 1}/${options.rounds} ${variant.padEnd(11)} ${(run.ok / run.seconds).toFixed(0).padStart(6)} req/s  p50 ${run.p50.toFixed(2)} ms  p99 ${run.p99.toFixed(2)} ms  errors ${run.errors}  cpu ${((cpu * 1000) / Math.max(run.ok, 1)).toFixed(0)} µs/req`);
        if (options.sequentialS > 0) await load(d.entry, 1, options.sequentialS, a.c1);
      }
    }

    const figures = {} as Record<Variant, VariantFigures>;
    for (const variant of VARIANTS) {
      const a = acc[variant];
      const d = deployments[variant];
      const total = a.ok + a.errors;
      if (total === 0 || a.errors / total > 0.01) throw new Error(`${variant}: ${a.errors} errors in ${total} requests`);
      const sorted = Float64Array.from(a.latencies).sort();
      const c1 = Float64Array.from(a.c1).sort();
      figures[variant] = {
        rps: a.ok / a.seconds,
        p50_ms: percentile(sorted, 0.5),
        p99_ms: percentile(sorted, 0.99),
        ...(c1.length > 0 ? { p50_c1_ms: percentile(c1, 0.5), p99_c1_ms: percentile(c1, 0.99) } : {}),
        cpu_us_per_req: (a.cpuMs * 1000) / a.ok,
        cpu_us_per_req_by_process: Object.fromEntries([...a.cpuBy].map(([name, ms]) => [name, Math.round((ms * 1000) / a.ok)])),
        rounds_rps: a.rounds,
        requests: a.ok,
        errors: a.errors,
        processes: d.pids.length + d.groupPids.length,
      };
    }
    const perHopUs = (a: number, b: number) => ((a - b) * 1000) / HOPS;
    const g = figures.graylane;
    const p = figures.plain;
    return {
      connections: options.connections,
      rounds: options.rounds,
      duration_s: options.durationS,
      hops: HOPS,
      nginx: nginxVersion(nginx),
      plain: p,
      plain_entry: figures.plain_entry,
      graylane: g,
      proxy: figures.proxy,
      ratios: {
        graylane_vs_plain_rps: g.rps / p.rps,
        graylane_vs_plain_entry_rps: g.rps / figures.plain_entry.rps,
        plain_entry_vs_plain_rps: figures.plain_entry.rps / p.rps,
        graylane_vs_proxy_rps: g.rps / figures.proxy.rps,
        graylane_added_p50_us_per_hop: perHopUs(g.p50_ms, p.p50_ms),
        ...(g.p50_c1_ms !== undefined && p.p50_c1_ms !== undefined ? { graylane_added_p50_c1_us_per_hop: perHopUs(g.p50_c1_ms, p.p50_c1_ms) } : {}),
        proxy_added_p50_us_per_hop: perHopUs(figures.proxy.p50_ms, p.p50_ms),
      },
    };
  } finally {
    log('stopping the chain processes');
    await stopAll();
    rmSync(tmp, { recursive: true, force: true });
  }
}

function fresh() {
  return { latencies: [] as number[], c1: [] as number[], ok: 0, seconds: 0, errors: 0, cpuMs: 0, cpuBy: new Map<string, number>(), rounds: [] as number[] };
}

/** The environment of the children, without a lane meant for someone else. */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ['GRAYLANE_LANE', 'MSE_ALICLOUD_SERVICE_TAG', 'alicloud.service.tag', 'traffic.opensergo.io/label', 'NACOS_SERVER_ADDR', 'NODE_OPTIONS']) {
    delete env[name];
  }
  env['NODE_ENV'] = 'production';
  return env;
}

async function startPlain(script: string, env: NodeJS.ProcessEnv): Promise<Deployment> {
  const c = await startNode('plain c', script, { ...env, SERVICE: 'c' });
  const b = await startNode('plain b', script, { ...env, SERVICE: 'b', NEXT_URL: `http://127.0.0.1:${c.port}/c` });
  const a = await startNode('plain a', script, { ...env, SERVICE: 'a', NEXT_URL: `http://127.0.0.1:${b.port}/b` });
  return { entry: a.port, pids: [a, b, c].map((p) => p.child.pid!), groupPids: [], names: names({ a, b, c }) };
}

async function startGraylaneChain(script: (name: string) => string, env: NodeJS.ProcessEnv): Promise<Deployment> {
  const service = script('graylane-service');
  const start = (name: string, service_: string, next: string, lane: string) =>
    startNode(`graylane ${name}`, service, { ...env, SERVICE: service_, NEXT: next, GRAYLANE_LANE: lane });
  const cs = await Promise.all([start('c-base', 'c', '', ''), start('c-gray', 'c', '', 'gray')]);
  const b = await start('b-base', 'b', 'c', '');
  const as = await Promise.all([start('a-base', 'a', 'b', ''), start('a-gray', 'a', 'b', 'gray')]);
  const gateway = await startNode('graylane gateway', script('graylane-gateway'), env);
  return {
    entry: gateway.port,
    pids: [gateway, ...as, b, ...cs].map((p) => p.child.pid!),
    groupPids: [],
    names: names({ gateway, 'a-base': as[0], 'a-gray': as[1], b, 'c-base': cs[0], 'c-gray': cs[1] }),
  };
}

async function startProxy(script: string, env: NodeJS.ProcessEnv, nginx: string, dir: string): Promise<Deployment> {
  const [nc, nb, na] = await Promise.all([freePort(), freePort(), freePort()]);
  const start = (name: string, service: string, lane: string, next?: string) =>
    startNode(`proxy ${name}`, script, { ...env, SERVICE: service, LANE: lane, ...(next ? { NEXT_URL: next } : {}) });
  const [cBase, cGray] = await Promise.all([start('c-base', 'c', 'base'), start('c-gray', 'c', 'gray')]);
  const b = await start('b-base', 'b', 'base', `http://127.0.0.1:${nc}/c`);
  const [aBase, aGray] = await Promise.all([start('a-base', 'a', 'base', `http://127.0.0.1:${nb}/b`), start('a-gray', 'a', 'gray', `http://127.0.0.1:${nb}/b`)]);
  const sites = [
    { name: 'c', listen: nc, base: cBase.port, gray: cGray.port },
    { name: 'b', listen: nb, base: b.port },
    { name: 'a', listen: na, base: aBase.port, gray: aGray.port, entry: true },
  ];
  const masters = [];
  for (const site of sites) masters.push(await startServer(`nginx ${site.name}`, nginx, nginxSite(dir, site), site.listen));
  return {
    entry: na,
    pids: [aBase, aGray, b, cBase, cGray].map((p) => p.child.pid!),
    groupPids: masters.map((m) => m.pid!),
    names: new Map([
      ...names({ 'a-base': aBase, 'a-gray': aGray, b, 'c-base': cBase, 'c-gray': cGray }),
      ...masters.map((m, i): [number, string] => [m.pid!, `nginx-${sites[i]!.name}`]),
    ]),
  };
}

export function names(procs: Record<string, { child: { pid?: number | undefined } } | undefined>): Map<number, string> {
  return new Map(Object.entries(procs).map(([name, p]): [number, string] => [p!.child.pid!, name]));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Checks each variant routes as it should: gray requests reach A and C gray, others base only. */
async function verify(variant: Variant, port: number, expected: [string, string]): Promise<void> {
  const deadline = Date.now() + 15_000;
  let last = '';
  for (;;) {
    const got = await Promise.all(REQUESTS.map((r) => fetchHops(port, r.path)));
    if (got[0] === expected[0] && got[1] === expected[1]) return;
    last = `${got[0]} | ${got[1]}`;
    // The file registry may still be propagating the last instances.
    if (Date.now() > deadline) throw new Error(`${variant} routes wrongly: expected ${expected.join(' | ')}, got ${last}`);
    await delay(200);
  }
}

async function fetchHops(port: number, path: string): Promise<string> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5_000) });
    const body = (await response.json()) as Array<{ service: string; lane: string }> | { error: string };
    if (!Array.isArray(body)) return `${response.status} ${JSON.stringify(body)}`;
    return body.map((h) => `${h.service}[${h.lane}]`).join(' ');
  } catch (error) {
    return String(error);
  }
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
