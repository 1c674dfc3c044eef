/**
 * graylane or a sidecar? (`chain.gray_split.*`): A → B → C with gray instances and half the
 * requests gray, behind the same entry in every variant. One nginx (one config, from
 * {@link entryNginx}) decides the lane by the same rule (`?group=gray` sets `x-mse-tag: gray` and
 * goes to A-gray, the rest to A-base), as a user's existing gateway would. A and C are split into
 * base and gray in every variant; B is base only.
 *
 * - `graylane`: entry → A (graylane-service, base/gray) → B → C (base/gray); each service picks its
 *   callee's instance in-process on the file registry, from the lane the entry set.
 * - `proxy`: entry → A (plain-service, base/gray) → nginx-b → B → nginx-c → C (base/gray): one nginx
 *   per hop in front of B and C, routing on `x-mse-tag` (the sidecar shape).
 * - `plain_entry`: entry → A (plain, base/gray) → B → C-base at fixed addresses, no routing after
 *   the entry: the floor.
 *
 * The variants run side by side and are loaded in short interleaved rounds (the order rotates every
 * round): under load for throughput and latency, then with one connection for CPU per request
 * (see {@link RoundSample.cpu_us}). Ratios are medians of per-round ratios with a 95 % bootstrap
 * interval; so is the routing CPU per hop: graylane's (its A + B + C CPU per request minus
 * plain_entry's, ÷ 2 routed hops) against nginx's per proxied request ((nginx-b + nginx-c) ÷ 2).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, cpuMs, diff, load, names, percentile, sum } from './macro.js';
import type { Deployment } from './macro.js';
import { delay, startNode, startServer, stopAll } from './children.js';
import { ensureNginx, nginxSite, nginxVersion } from './nginx.js';
import { estimate } from './same-topology.js';
import type { Estimate } from './same-topology.js';

export const GRAY_SPLIT_VARIANTS = ['graylane', 'proxy', 'plain_entry'] as const;
type Variant = (typeof GRAY_SPLIT_VARIANTS)[number];

/** The service processes (A, B, C) of every variant, by the names their CPU is reported under. */
const SERVICE_PROCESSES = ['a-base', 'a-gray', 'b', 'c-base', 'c-gray'] as const;
/** Hops after the entry that a variant routes: A → B and B → C. */
const ROUTED_HOPS = 2;

export interface RoundsOptions {
  readonly rounds: number;
  readonly durationS: number;
  readonly connections: number;
  readonly warmupS: number;
  /** Seconds per variant per round of the one-connection phase, where CPU per request is compared. */
  readonly c1S: number;
  readonly log: (line: string) => void;
}

export interface GraySplitOptions extends RoundsOptions {
  readonly distDir: string;
}

/** One variant's load in one round: under load (`connections`), then with one connection (`_c1`). */
export interface RoundSample {
  readonly rps: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  /** CPU µs per request by process name, and `all`, under load. */
  readonly cpu_us_loaded: Record<string, number>;
  readonly rps_c1: number;
  readonly p50_c1_ms: number;
  readonly p99_c1_ms: number;
  /**
   * CPU µs per request by process name, and `all`, with one connection: every variant handles one
   * request at a time, so a variant's per-request CPU does not depend on how fast it is (under
   * load, a faster variant shares each wake-up among more requests and has less contention for
   * the 2 cores, whatever code it runs).
   */
  readonly cpu_us: Record<string, number>;
}

/** What a variant did over all rounds. */
export interface VariantSummary {
  /** 2xx responses per second over all rounds. */
  readonly rps: number;
  /** Over every response of every round, under load. */
  readonly p50_ms: number;
  readonly p99_ms: number;
  /** Over every response of every round's one-connection phase. */
  readonly p50_c1_ms: number;
  readonly p99_c1_ms: number;
  /** Median over rounds of CPU µs per request, by process and `all`, one connection. */
  readonly cpu_us_per_req_by_process: Record<string, number>;
  /** The same under load. */
  readonly cpu_us_per_req_by_process_loaded: Record<string, number>;
  readonly rounds: RoundSample[];
  readonly requests: number;
  readonly errors: number;
}

export interface GraySplitResult {
  readonly connections: number;
  readonly rounds: number;
  readonly duration_s: number;
  readonly nginx_version: string;
  /** 1-, 5- and 15-minute load averages when the suite started and ended. */
  readonly loadavg_start: readonly number[];
  readonly loadavg_end: readonly number[];
  readonly variants: Record<Variant, VariantSummary>;
  readonly graylane_vs_proxy_rps: Estimate;
  readonly graylane_vs_plain_entry_rps: Estimate;
  readonly proxy_vs_plain_entry_rps: Estimate;
  /** (graylane's A + B + C CPU per request − plain_entry's) ÷ 2 routed hops, µs. */
  readonly graylane_routing_cpu_us_per_hop: Estimate;
  /** (nginx-b + nginx-c CPU per request) ÷ 2: nginx's CPU per proxied request, µs. */
  readonly nginx_cpu_us_per_proxied_request: Estimate;
  /** The per-round ratio of the two above. Target ≤ 0.1. */
  readonly graylane_routing_cpu_vs_nginx: Estimate;
  /** The three above from the loaded phase (their difference mixes in each variant's throughput). */
  readonly graylane_routing_cpu_us_per_hop_loaded: Estimate;
  readonly nginx_cpu_us_per_proxied_request_loaded: Estimate;
  readonly graylane_routing_cpu_vs_nginx_loaded: Estimate;
  /** Latency a routed hop adds with one connection (no queueing): (p50 − plain_entry's p50) ÷ 2, µs. */
  readonly graylane_added_p50_c1_us_per_hop: Estimate;
  readonly proxy_added_p50_c1_us_per_hop: Estimate;
  /**
   * Diagnostic: (graylane's A + B + C − proxy's A + B + C) ÷ 2, the same process layout (C split in
   * both) and plain code on the proxy side, so the cost of splitting C is not counted as graylane's.
   */
  readonly graylane_routing_cpu_us_per_hop_vs_proxy_services: Estimate;
}

export async function benchGraySplit(options: GraySplitOptions): Promise<GraySplitResult> {
  const { log } = options;
  const loadavgStart = loadavgNow();
  const nginx = ensureNginx(log);
  const tmp = mkdtempSync(join(tmpdir(), 'graylane-gray-split-'));
  try {
    const script = (name: string) => join(options.distDir, 'procs', `${name}.js`);
    const env = cleanEnv();
    log(`starting graylane: entry nginx (${nginxVersion(nginx)}) → a(base,gray) → b → c(base,gray), graylane on a file registry`);
    const graylane = await startGraylaneSplit(script('graylane-service'), { ...env, GRAYLANE_REGISTRY_DIR: join(tmp, 'registry') }, nginx, join(tmp, 'graylane'));
    log('starting proxy: entry nginx → a(base,gray) → nginx-b → b → nginx-c → c(base,gray)');
    const proxy = await startPlainSplit(script('plain-service'), env, nginx, join(tmp, 'proxy'), true);
    log('starting plain_entry: entry nginx → a(base,gray) → b → c-base');
    const plainEntry = await startPlainSplit(script('plain-service'), env, nginx, join(tmp, 'plain_entry'), false);
    const deployments: Record<Variant, Deployment> = { graylane, proxy, plain_entry: plainEntry };

    const gray = 'A[gray] B[base] C[gray]';
    const base = 'A[base] B[base] C[base]';
    await verifyRoutes('graylane', graylane.entry, [gray, base]);
    await verifyRoutes('proxy', proxy.entry, [gray, base]);
    await verifyRoutes('plain_entry', plainEntry.entry, ['A[gray] B[base] C[base]', base]);

    const measured = await interleavedRounds(GRAY_SPLIT_VARIANTS, deployments, options);
    const rounds = (v: Variant) => measured[v].rounds;
    type Cpu = (s: RoundSample) => Record<string, number>;
    const services = (s: RoundSample, cpu: Cpu) => SERVICE_PROCESSES.reduce((total, name) => total + (cpu(s)[name] ?? 0), 0);
    const nginxPerProxied = (cpu: Cpu) => rounds('proxy').map((s) => ((cpu(s)['nginx-b'] ?? 0) + (cpu(s)['nginx-c'] ?? 0)) / ROUTED_HOPS);
    const addedOver = (base: Variant, cpu: Cpu) => rounds('graylane').map((s, i) => (services(s, cpu) - services(rounds(base)[i]!, cpu)) / ROUTED_HOPS);
    const c1: Cpu = (s) => s.cpu_us;
    const loaded: Cpu = (s) => s.cpu_us_loaded;
    const per = (added: number[], nginx: number[]) => estimate(added.map((x, i) => x / nginx[i]!));
    const addedP50 = (v: Variant) => estimate(rounds(v).map((s, i) => ((s.p50_c1_ms - rounds('plain_entry')[i]!.p50_c1_ms) * 1000) / ROUTED_HOPS));
    const ratio = (a: Variant, b: Variant) => estimate(rounds(a).map((s, i) => s.rps / rounds(b)[i]!.rps));
    return {
      connections: options.connections,
      rounds: options.rounds,
      duration_s: options.durationS,
      nginx_version: nginxVersion(nginx),
      loadavg_start: loadavgStart,
      loadavg_end: loadavgNow(),
      variants: measured,
      graylane_vs_proxy_rps: ratio('graylane', 'proxy'),
      graylane_vs_plain_entry_rps: ratio('graylane', 'plain_entry'),
      proxy_vs_plain_entry_rps: ratio('proxy', 'plain_entry'),
      graylane_routing_cpu_us_per_hop: estimate(addedOver('plain_entry', c1)),
      nginx_cpu_us_per_proxied_request: estimate(nginxPerProxied(c1)),
      graylane_routing_cpu_vs_nginx: per(addedOver('plain_entry', c1), nginxPerProxied(c1)),
      graylane_routing_cpu_us_per_hop_loaded: estimate(addedOver('plain_entry', loaded)),
      nginx_cpu_us_per_proxied_request_loaded: estimate(nginxPerProxied(loaded)),
      graylane_routing_cpu_vs_nginx_loaded: per(addedOver('plain_entry', loaded), nginxPerProxied(loaded)),
      graylane_routing_cpu_us_per_hop_vs_proxy_services: estimate(addedOver('proxy', c1)),
      graylane_added_p50_c1_us_per_hop: addedP50('graylane'),
      proxy_added_p50_c1_us_per_hop: addedP50('proxy'),
    };
  } finally {
    log('stopping the gray-split processes');
    await stopAll();
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * The entry of every variant, as a user's existing gateway: one nginx that decides the lane from
 * `?group=gray` (setting `x-mse-tag: gray`) and proxies to A-gray, everything else to A-base.
 * Returns nginx's arguments; the config is written under `dir`.
 */
export function entryNginx(dir: string, listen: number, a: { readonly base: number; readonly gray: number }): string[] {
  return nginxSite(dir, { name: 'entry', listen, base: a.base, gray: a.gray, entry: true });
}

async function startGraylaneSplit(script: string, env: NodeJS.ProcessEnv, nginx: string, dir: string): Promise<Deployment> {
  const start = (name: string, service: string, next: string, lane: string) =>
    startNode(`gray_split graylane ${name}`, script, { ...env, SERVICE: service, NEXT: next, GRAYLANE_LANE: lane });
  const [cBase, cGray] = await Promise.all([start('c-base', 'c', '', ''), start('c-gray', 'c', '', 'gray')]);
  const b = await start('b', 'b', 'c', '');
  const [aBase, aGray] = await Promise.all([start('a-base', 'a', 'b', ''), start('a-gray', 'a', 'b', 'gray')]);
  const port = await freePort();
  const entry = await startServer('gray_split graylane nginx entry', nginx, entryNginx(dir, port, { base: aBase.port, gray: aGray.port }), port);
  return {
    entry: port,
    pids: [aBase, aGray, b, cBase, cGray].map((p) => p.child.pid!),
    groupPids: [entry.pid!],
    names: new Map([...names({ 'a-base': aBase, 'a-gray': aGray, b, 'c-base': cBase, 'c-gray': cGray }), [entry.pid!, 'entry']]),
  };
}

/**
 * The plain services behind the entry: with `sidecars`, one nginx in front of B and one in front of
 * C (base and gray), routing on `x-mse-tag`; without, A calls B and B calls C-base directly.
 */
async function startPlainSplit(script: string, env: NodeJS.ProcessEnv, nginx: string, dir: string, sidecars: boolean): Promise<Deployment> {
  const variant = sidecars ? 'proxy' : 'plain_entry';
  const start = (name: string, service: string, lane: string, next?: string) =>
    startNode(`gray_split ${variant} ${name}`, script, { ...env, SERVICE: service, LANE: lane, ...(next ? { NEXT_URL: next } : {}) });
  const [entryPort, nb, nc] = await Promise.all([freePort(), freePort(), freePort()]);
  const cBase = await start('c-base', 'c', 'base');
  const cGray = sidecars ? await start('c-gray', 'c', 'gray') : undefined;
  const b = await start('b', 'b', 'base', `http://127.0.0.1:${sidecars ? nc : cBase.port}/c`);
  const bUrl = `http://127.0.0.1:${sidecars ? nb : b.port}/b`;
  const [aBase, aGray] = await Promise.all([start('a-base', 'a', 'base', bUrl), start('a-gray', 'a', 'gray', bUrl)]);
  const masters: Array<[number, string]> = [];
  if (sidecars) {
    const nginxB = await startServer('gray_split proxy nginx-b', nginx, nginxSite(dir, { name: 'b', listen: nb, base: b.port }), nb);
    const nginxC = await startServer('gray_split proxy nginx-c', nginx, nginxSite(dir, { name: 'c', listen: nc, base: cBase.port, gray: cGray!.port }), nc);
    masters.push([nginxB.pid!, 'nginx-b'], [nginxC.pid!, 'nginx-c']);
  }
  const entry = await startServer(`gray_split ${variant} nginx entry`, nginx, entryNginx(dir, entryPort, { base: aBase.port, gray: aGray.port }), entryPort);
  masters.push([entry.pid!, 'entry']);
  const services = { 'a-base': aBase, 'a-gray': aGray, b, 'c-base': cBase, ...(cGray ? { 'c-gray': cGray } : {}) };
  return {
    entry: entryPort,
    pids: Object.values(services).map((p) => p.child.pid!),
    groupPids: masters.map(([pid]) => pid),
    names: new Map([...names(services), ...masters]),
  };
}

/**
 * Warms every variant up, then loads them in `rounds` interleaved rounds (the order rotating each
 * round). In each round a variant is loaded with `connections` (throughput, p50/p99, CPU under
 * load), then with one connection for `c1S` seconds (latency without queueing, and the CPU µs per
 * request of each process that the variants' CPU figures compare). Fails when a load has more
 * than 1 % errors.
 */
export async function interleavedRounds<V extends string>(variants: readonly V[], deployments: Record<V, Deployment>, options: RoundsOptions): Promise<Record<V, VariantSummary>> {
  const { log } = options;
  for (const variant of variants) {
    log(`warm-up ${variant} ${options.warmupS}s`);
    const run = await load(deployments[variant].entry, options.connections, options.warmupS);
    if (run.ok === 0 || run.errors > run.ok / 100) throw new Error(`${variant}: ${run.errors} errors, ${run.ok} answers in the warm-up`);
  }
  const acc = Object.fromEntries(variants.map((v) => [v, { rounds: [] as RoundSample[], latencies: [] as number[], c1: [] as number[], ok: 0, errors: 0, seconds: 0 }])) as Record<
    V,
    { rounds: RoundSample[]; latencies: number[]; c1: number[]; ok: number; errors: number; seconds: number }
  >;
  /** One load of `d`, checked for errors: the run and its CPU µs per request by process, and `all`. */
  const measure = async (variant: V, round: number, connections: number, seconds: number, sink: number[]) => {
    const d = deployments[variant];
    const before = cpuMs(d);
    const run = await load(d.entry, connections, seconds, sink);
    const by = diff(cpuMs(d), before);
    if (run.ok === 0 || run.errors > run.ok / 100) throw new Error(`${variant}: ${run.errors} errors, ${run.ok} answers in round ${round + 1} (${connections} connections)`);
    const perReq = (ms: number) => (ms * 1000) / run.ok;
    const cpu = Object.fromEntries([...[...by].map(([name, ms]): [string, number] => [name, perReq(ms)]), ['all', perReq(sum(by))]]);
    return { run, cpu };
  };
  for (let round = 0; round < options.rounds; round++) {
    const order = variants.map((_, i) => variants[(i + round) % variants.length]!);
    for (const variant of order) {
      const a = acc[variant];
      const { run, cpu } = await measure(variant, round, options.connections, options.durationS, a.latencies);
      const one = await measure(variant, round, 1, options.c1S, a.c1);
      a.rounds.push({
        rps: run.ok / run.seconds,
        p50_ms: run.p50,
        p99_ms: run.p99,
        cpu_us_loaded: cpu,
        rps_c1: one.run.ok / one.run.seconds,
        p50_c1_ms: one.run.p50,
        p99_c1_ms: one.run.p99,
        cpu_us: one.cpu,
      });
      a.ok += run.ok;
      a.errors += run.errors;
      a.seconds += run.seconds;
      log(
        `round ${round + 1}/${options.rounds} ${variant.padEnd(11)} ${(run.ok / run.seconds).toFixed(0).padStart(6)} req/s  p50 ${run.p50.toFixed(2)} ms  p99 ${run.p99.toFixed(2)} ms  cpu ${cpu['all']!.toFixed(0)} µs/req | 1 conn.: p50 ${one.run.p50.toFixed(2)} ms  cpu ${one.cpu['all']!.toFixed(0)} µs/req`,
      );
    }
  }
  const out = {} as Record<V, VariantSummary>;
  for (const variant of variants) {
    const a = acc[variant];
    const sorted = Float64Array.from(a.latencies).sort();
    const c1 = Float64Array.from(a.c1).sort();
    const processes = Object.keys(a.rounds[0]?.cpu_us ?? {});
    const medians = (cpu: (r: RoundSample) => Record<string, number>) =>
      Object.fromEntries(processes.map((name) => [name, estimate(a.rounds.map((r) => cpu(r)[name] ?? 0)).median]));
    out[variant] = {
      rps: a.ok / a.seconds,
      p50_ms: percentile(sorted, 0.5),
      p99_ms: percentile(sorted, 0.99),
      p50_c1_ms: percentile(c1, 0.5),
      p99_c1_ms: percentile(c1, 0.99),
      cpu_us_per_req_by_process: medians((r) => r.cpu_us),
      cpu_us_per_req_by_process_loaded: medians((r) => r.cpu_us_loaded),
      rounds: a.rounds,
      requests: a.ok,
      errors: a.errors,
    };
  }
  return out;
}

/** Checks a variant answers `expected[0]` to `GET /a?group=gray` and `expected[1]` to `GET /a`. */
export async function verifyRoutes(variant: string, port: number, expected: readonly [string, string]): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const got = await Promise.all(['/a?group=gray', '/a'].map((path) => fetchHops(port, path)));
    if (got[0] === expected[0] && got[1] === expected[1]) return;
    // The file registry may still be propagating the last instances.
    if (Date.now() > deadline) throw new Error(`${variant} routes wrongly: expected ${expected.join(' | ')}, got ${got.join(' | ')}`);
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

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The 1-, 5- and 15-minute load averages, two decimals. */
export function loadavgNow(): number[] {
  return loadavg().map((x) => Math.round(x * 100) / 100);
}
