/**
 * What graylane costs a service, with nothing else changed (`chain.same_topology.*`): the same three
 * processes A → B → C, base only, the same Express + axios services, in four variants kept running
 * side by side and loaded in short interleaved rounds (the order rotates every round):
 *
 * - `plain`: the services calling each other at fixed addresses;
 * - `plain_otel`: the same with OpenTelemetry's Node SDK and HTTP instrumentation (procs/otel.ts),
 *   which most users already run;
 * - `graylane`: graylane's services (Express middleware, axios interceptor, selection on the file
 *   registry), no gateway: A is called directly;
 * - `graylane_otel`: `graylane` with the same OpenTelemetry setup, LanePropagator added.
 *
 * Each ratio (`graylane / plain`, `graylane_otel / plain_otel` throughput, and the per-request CPU
 * graylane adds in each process) is the median of the per-round ratios, with a 95 % bootstrap
 * confidence interval over the rounds (`*_ci95`), so that a difference inside the machine's noise
 * says so.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, cpuMs, diff, load, names, sum } from './macro.js';
import type { Deployment } from './macro.js';
import { startNode, stopAll } from './children.js';

export const SAME_TOPOLOGY_VARIANTS = ['plain', 'plain_otel', 'graylane', 'graylane_otel'] as const;
type Variant = (typeof SAME_TOPOLOGY_VARIANTS)[number];

export interface SameTopologyOptions {
  readonly rounds: number;
  readonly durationS: number;
  readonly connections: number;
  readonly warmupS: number;
  readonly distDir: string;
  readonly log: (line: string) => void;
}

/** A median and its 95 % bootstrap interval. */
export interface Estimate {
  readonly median: number;
  readonly ci95: readonly [number, number];
}

export interface SameTopologyResult {
  readonly connections: number;
  readonly rounds: number;
  readonly duration_s: number;
  readonly rps: Record<Variant, number[]>;
  readonly cpu_us_per_req: Record<Variant, Record<string, number[]>>;
  readonly graylane_vs_plain_rps: Estimate;
  readonly graylane_otel_vs_plain_otel_rps: Estimate;
  readonly plain_otel_vs_plain_rps: Estimate;
  /** CPU per request graylane adds, per process (a, b, c) and in all, µs. */
  readonly graylane_added_cpu_us: Record<string, Estimate>;
  readonly graylane_otel_added_cpu_us: Record<string, Estimate>;
}

export async function benchSameTopology(options: SameTopologyOptions): Promise<SameTopologyResult> {
  const { log } = options;
  const tmp = mkdtempSync(join(tmpdir(), 'graylane-same-'));
  try {
    const script = (name: string) => join(options.distDir, 'procs', `${name}.js`);
    const otel = (on: boolean, graylane: boolean): NodeJS.ProcessEnv =>
      on ? { NODE_OPTIONS: `--import=${script('otel')}`, OTEL_GRAYLANE: graylane ? '1' : '0', OTEL_SDK_DISABLED: 'false' } : {};
    const env = cleanEnv();
    const deployments = {} as Record<Variant, Deployment>;
    for (const variant of SAME_TOPOLOGY_VARIANTS) {
      const graylane = variant.startsWith('graylane');
      const extra = { ...otel(variant.endsWith('_otel'), graylane) };
      log(`starting ${variant}: a → b → c`);
      deployments[variant] = graylane
        ? await startGraylane(script('graylane-service'), { ...env, ...extra, GRAYLANE_REGISTRY_DIR: join(tmp, variant) }, variant)
        : await startPlain(script('plain-service'), { ...env, ...extra }, variant);
    }
    for (const variant of SAME_TOPOLOGY_VARIANTS) {
      log(`warm-up ${variant} ${options.warmupS}s`);
      const run = await load(deployments[variant].entry, options.connections, options.warmupS);
      if (run.ok === 0 || run.errors > run.ok / 100) throw new Error(`${variant}: ${run.errors} errors, ${run.ok} answers in the warm-up`);
    }

    const rps = Object.fromEntries(SAME_TOPOLOGY_VARIANTS.map((v) => [v, [] as number[]])) as Record<Variant, number[]>;
    const cpu = Object.fromEntries(SAME_TOPOLOGY_VARIANTS.map((v) => [v, {} as Record<string, number[]>])) as Record<Variant, Record<string, number[]>>;
    for (let round = 0; round < options.rounds; round++) {
      const order = SAME_TOPOLOGY_VARIANTS.map((_, i) => SAME_TOPOLOGY_VARIANTS[(i + round) % SAME_TOPOLOGY_VARIANTS.length]!);
      for (const variant of order) {
        const d = deployments[variant];
        const before = cpuMs(d);
        const run = await load(d.entry, options.connections, options.durationS);
        const by = diff(cpuMs(d), before);
        if (run.errors > run.ok / 100) throw new Error(`${variant}: ${run.errors} errors in round ${round + 1}`);
        rps[variant].push(run.ok / run.seconds);
        for (const [name, ms] of [...by, ['all', sum(by)] as const]) (cpu[variant][name] ??= []).push((ms * 1000) / Math.max(run.ok, 1));
        log(`round ${round + 1}/${options.rounds} ${variant.padEnd(13)} ${(run.ok / run.seconds).toFixed(0).padStart(6)} req/s  cpu ${((sum(by) * 1000) / Math.max(run.ok, 1)).toFixed(0)} µs/req`);
      }
    }

    const ratio = (a: Variant, b: Variant) => estimate(rps[a].map((x, i) => x / rps[b][i]!));
    const added = (a: Variant, b: Variant) =>
      Object.fromEntries(['a', 'b', 'c', 'all'].map((name) => [name, estimate(cpu[a][name]!.map((x, i) => x - cpu[b][name]![i]!))]));
    return {
      connections: options.connections,
      rounds: options.rounds,
      duration_s: options.durationS,
      rps,
      cpu_us_per_req: cpu,
      graylane_vs_plain_rps: ratio('graylane', 'plain'),
      graylane_otel_vs_plain_otel_rps: ratio('graylane_otel', 'plain_otel'),
      plain_otel_vs_plain_rps: ratio('plain_otel', 'plain'),
      graylane_added_cpu_us: added('graylane', 'plain'),
      graylane_otel_added_cpu_us: added('graylane_otel', 'plain_otel'),
    };
  } finally {
    log('stopping the same-topology processes');
    await stopAll();
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function startPlain(script: string, env: NodeJS.ProcessEnv, variant: string): Promise<Deployment> {
  const c = await startNode(`${variant} c`, script, { ...env, SERVICE: 'c' });
  const b = await startNode(`${variant} b`, script, { ...env, SERVICE: 'b', NEXT_URL: `http://127.0.0.1:${c.port}/c` });
  const a = await startNode(`${variant} a`, script, { ...env, SERVICE: 'a', NEXT_URL: `http://127.0.0.1:${b.port}/b` });
  return { entry: a.port, pids: [a, b, c].map((p) => p.child.pid!), groupPids: [], names: names({ a, b, c }) };
}

async function startGraylane(script: string, env: NodeJS.ProcessEnv, variant: string): Promise<Deployment> {
  const c = await startNode(`${variant} c`, script, { ...env, SERVICE: 'c', NEXT: '' });
  const b = await startNode(`${variant} b`, script, { ...env, SERVICE: 'b', NEXT: 'c' });
  const a = await startNode(`${variant} a`, script, { ...env, SERVICE: 'a', NEXT: 'b' });
  return { entry: a.port, pids: [a, b, c].map((p) => p.child.pid!), groupPids: [], names: names({ a, b, c }) };
}

/** Median of `values` and a 95 % percentile-bootstrap interval of the median (2,000 resamples, seeded). */
export function estimate(values: readonly number[]): Estimate {
  const median = medianOf(values);
  let seed = 0x9e3779b9;
  const random = () => {
    // xorshift32: the same interval from the same rounds, run after run.
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const medians: number[] = [];
  for (let r = 0; r < 2000; r++) medians.push(medianOf(values.map(() => values[Math.floor(random() * values.length)]!)));
  medians.sort((a, b) => a - b);
  return { median, ci95: [medians[Math.floor(0.025 * medians.length)]!, medians[Math.floor(0.975 * medians.length)]!] };
}

function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
