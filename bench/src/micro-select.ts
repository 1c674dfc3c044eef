/**
 * Micro-benchmark of lane selection (@graylane/router's pure core): the cost of one `select` at
 * 10, 1 000 and 10 000 instances of one service, on a lane hit and on a fallback, and the memory of
 * the lane indexes of a fleet of 200 services × 50 instances. Run with `--expose-gc` for the memory
 * figure to be exact.
 */
import type { Instance } from '@graylane/core';
import { buildLaneIndex, compilePolicy, selectFromIndex, type LaneIndex, type RoutingPolicy } from '@graylane/router';
import { Bench } from 'tinybench';

/** Figures of {@link benchSelect}: nanoseconds per select, megabytes of index. */
export interface SelectBenchResult {
  readonly select10Ns: number;
  readonly select1kNs: number;
  readonly select10kNs: number;
  readonly select10kFallbackNs: number;
  readonly indexMemory200x50Mb: number;
}

/** Selects per timed iteration: one select is far below the timer's resolution. */
const BATCH = 1000;
const LANES = ['gray', 'rc', 'feature-a', 'feature-b'];

/**
 * A service of `n` instances: half base, the rest spread over four lanes, with mixed weights (1-3)
 * so the weighted round-robin takes its O(log n) path rather than the equal-weight shortcut.
 */
function fleet(service: string, n: number): Instance[] {
  return Array.from({ length: n }, (_, i): Instance => {
    const lane = i % 2 === 0 ? undefined : LANES[(i >> 1) % LANES.length];
    return {
      id: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8080`,
      service,
      host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      port: 8080,
      lane,
      weight: 1 + (i % 3),
      healthy: true,
      enabled: true,
      metadata: lane ? { 'graylane.io/lane': lane } : {},
    };
  });
}

/** Nanoseconds per select, measured over batches of {@link BATCH}. */
async function measure(cases: Record<string, () => void>): Promise<Record<string, number>> {
  const bench = new Bench({ time: 500, warmupTime: 200 });
  for (const [name, fn] of Object.entries(cases)) bench.add(name, fn);
  await bench.run();
  const out: Record<string, number> = {};
  for (const task of bench.tasks) {
    const result = task.result;
    if (result.state !== 'completed') throw new Error(`benchmark ${task.name} ${result.state}`);
    out[task.name] = (result.latency.p50 * 1e6) / BATCH;
  }
  return out;
}

let sink = 0;

function selectLoop(index: LaneIndex, lane: string | undefined, policy: RoutingPolicy): () => void {
  return () => {
    for (let i = 0; i < BATCH; i++) sink += selectFromIndex(index, lane, policy).instance.port;
  };
}

function heapUsed(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

/** Heap retained by the lane indexes (instances excluded) of 200 services × 50 instances, warmed. */
function indexMemory(): number {
  const services = Array.from({ length: 200 }, (_, s) => fleet(`service-${s}`, 50));
  const before = heapUsed();
  const policy = compilePolicy({ fallback: { 'feature-x': ['rc'] } });
  const indexes = services.map((instances) => buildLaneIndex(instances));
  // Warm every cached selection: every instance of every lane, plus a fallback path.
  for (const index of indexes) {
    for (let k = 0; k < 50; k++) {
      for (const lane of [undefined, ...LANES, 'feature-x']) sink += selectFromIndex(index, lane, policy).instance.port;
    }
  }
  const after = heapUsed();
  sink += indexes.length;
  return (after - before) / (1024 * 1024);
}

/** Runs the selection micro-benchmarks. */
export async function benchSelect(): Promise<SelectBenchResult> {
  const policy = compilePolicy({ fallback: { 'feature-x': ['rc-missing'] } });
  const i10 = buildLaneIndex(fleet('s10', 10));
  const i1k = buildLaneIndex(fleet('s1k', 1000));
  const i10k = buildLaneIndex(fleet('s10k', 10_000));

  const ns = await measure({
    select10: selectLoop(i10, 'gray', policy),
    select1k: selectLoop(i1k, 'gray', policy),
    select10k: selectLoop(i10k, 'gray', policy),
    select10kFallback: selectLoop(i10k, 'feature-x', policy),
  });
  // Check the fallback case measured what it says: feature-x → rc-missing → base.
  const fallback = selectFromIndex(i10k, 'feature-x', policy);
  if (fallback.servedLane !== undefined || fallback.fallback.length !== 2) throw new Error('fallback bench misconfigured');

  const result: SelectBenchResult = {
    select10Ns: ns['select10']!,
    select1kNs: ns['select1k']!,
    select10kNs: ns['select10k']!,
    select10kFallbackNs: ns['select10kFallback']!,
    indexMemory200x50Mb: indexMemory(),
  };
  if (sink === -1) console.log(sink); // keep the work observable
  return result;
}
