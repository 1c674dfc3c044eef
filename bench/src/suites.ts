/**
 * The benchmark suites. Each returns a partial result (deep-merged into latest.json) and the rows it
 * prints. To add figures (e.g. `nacos.*`), append a suite here: nothing else needs to change.
 */
import { join } from 'node:path';
import { benchChain } from './chain.js';
import { runNode } from './children.js';
import { benchAdapters, median } from './micro-adapters.js';
import { benchHop } from './micro-hop.js';
import { benchMatch } from './micro-match.js';
import { benchPropagate } from './micro-propagate.js';
import { benchSelect } from './micro-select.js';
import { lifecycle } from './lifecycle.js';
import { messages } from './messages.js';
import { nacos } from './nacos.js';
import { benchRulesReload } from './rules-reload.js';
import { benchSameTopology } from './same-topology.js';
import type { Estimate } from './same-topology.js';

export interface SuiteContext {
  readonly quick: boolean;
  /** Where the built scripts are (bench/dist). */
  readonly distDir: string;
  /** Overrides from the command line. */
  readonly rounds: number | undefined;
  readonly durationS: number | undefined;
  readonly connections: number | undefined;
  readonly log: (line: string) => void;
}

/** One printed figure. */
export interface Row {
  readonly name: string;
  readonly value: string;
  readonly target?: string;
  readonly met?: boolean;
}

export interface Suite {
  readonly name: string;
  readonly description: string;
  run(ctx: SuiteContext): Promise<{ result: Record<string, unknown>; rows: Row[] }>;
}

const ns = (n: number) => `${n.toFixed(n < 100 ? 1 : 0)} ns`;
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

const micro: Suite = {
  name: 'micro',
  description: 'rule matching, selection, propagation, Express middleware, axios interceptor (ns per operation, median)',
  async run(ctx) {
    ctx.log('rule matching: 10 lanes × 5 conditions');
    const match = await benchMatch();
    ctx.log('selection at 10, 1,000 and 10,000 instances');
    const select = await benchSelect();
    ctx.log('lane extract + inject per hop');
    const propagate = await benchPropagate();
    ctx.log('Express middleware and axios interceptor vs none');
    const adapters = await benchAdapters(ctx.quick ? { rounds: 3, timeMs: 200 } : { rounds: 7, timeMs: 500 });
    ctx.log('one whole hop (Express middleware → axios interceptor) vs the same hop without graylane');
    const hop = await benchHop(ctx.quick ? { rounds: 3, timeMs: 200 } : { rounds: 7, timeMs: 500 });
    const result = {
      micro: {
        match_ns: round(match.matchLastNs),
        match_none_ns: round(match.matchNoneNs),
        select_10_ns: round(select.select10Ns),
        select_1k_ns: round(select.select1kNs),
        select_10k_ns: round(select.select10kNs),
        select_10k_fallback_ns: round(select.select10kFallbackNs),
        propagate_ns: round(propagate.extractInjectNs),
        propagate_otel_ns: round(propagate.extractInjectWithOtelNs),
        propagate_otel_baseline_ns: round(propagate.otelBaselineNs),
        als_await_ns: round(propagate.alsNs),
        express_ns: round(adapters.expressNs),
        express_base_ns: round(adapters.expressBaseNs),
        express_added_ns: round(adapters.expressNs - adapters.expressBaseNs),
        axios_ns: round(adapters.axiosNs),
        axios_base_ns: round(adapters.axiosBaseNs),
        axios_added_ns: round(adapters.axiosNs - adapters.axiosBaseNs),
        hop_ns: round(hop.hopNs - hop.hopBaseNs, 0),
        hop_total_ns: round(hop.hopNs, 0),
        hop_base_ns: round(hop.hopBaseNs, 0),
        hop_bytes: round(hop.hopBytes - hop.hopBaseBytes, 0),
        hop_total_bytes: round(hop.hopBytes, 0),
      },
      memory: { index_heap_200x50_mb: round(select.indexMemory200x50Mb, 2) },
    };
    const m = result.micro;
    return {
      result,
      rows: [
        { name: 'match, 10 lanes × 5 conditions, last lane matches (`micro.match_ns`)', value: ns(m.match_ns) },
        { name: 'match, no lane matches', value: ns(m.match_none_ns) },
        { name: 'select, 10 instances, lane hit', value: ns(m.select_10_ns) },
        { name: 'select, 1,000 instances, lane hit', value: ns(m.select_1k_ns) },
        { name: 'select, 10,000 instances, lane hit (`micro.select_10k_ns`)', value: ns(m.select_10k_ns), target: '≤ 1 µs', met: m.select_10k_ns <= 1000 },
        { name: 'select, 10,000 instances, fallback lane → lane → base', value: ns(m.select_10k_fallback_ns), target: '≤ 1 µs', met: m.select_10k_fallback_ns <= 1000 },
        { name: 'extract + inject per hop (`micro.propagate_ns`)', value: ns(m.propagate_ns) },
        { name: 'extract + inject via OTel W3C + LanePropagator / OTel W3C alone', value: `${ns(m.propagate_otel_ns)} / ${ns(m.propagate_otel_baseline_ns)}` },
        { name: 'AsyncLocalStorage `context.with` per awaited call', value: ns(m.als_await_ns) },
        { name: 'Express: middleware + handler / handler alone (added)', value: `${ns(m.express_ns)} / ${ns(m.express_base_ns)} (+${ns(m.express_added_ns)})` },
        { name: 'axios: interceptor transform / identity interceptor (added)', value: `${ns(m.axios_ns)} / ${ns(m.axios_base_ns)} (+${ns(m.axios_added_ns)})` },
        {
          name: 'one whole hop, graylane added: middleware, lane context, selection, carriers, request ready (`micro.hop_ns`; with / without)',
          value: `${ns(m.hop_ns)} (${ns(m.hop_total_ns)} / ${ns(m.hop_base_ns)})`,
          target: '≤ 3,000 ns',
          met: m.hop_ns <= 3000,
        },
        { name: 'heap bytes graylane allocates per hop (`micro.hop_bytes`; with graylane in all)', value: `${m.hop_bytes} B (${m.hop_total_bytes} B)` },
      ],
    };
  },
};

const chain: Suite = {
  name: 'chain',
  description: 'A → B → C as real processes under autocannon: plain vs graylane vs nginx per hop, interleaved rounds',
  async run(ctx) {
    const r = await benchChain({
      rounds: ctx.rounds ?? (ctx.quick ? 3 : 6),
      durationS: ctx.durationS ?? (ctx.quick ? 5 : 10),
      connections: ctx.connections ?? 32,
      warmupS: ctx.quick ? 2 : 5,
      sequentialS: ctx.quick ? 1 : 3,
      distDir: ctx.distDir,
      log: ctx.log,
    });
    const fig = (v: typeof r.plain) => ({
      ...v,
      rps: round(v.rps, 0),
      p50_ms: round(v.p50_ms, 3),
      p99_ms: round(v.p99_ms, 3),
      ...(v.p50_c1_ms !== undefined ? { p50_c1_ms: round(v.p50_c1_ms, 3), p99_c1_ms: round(v.p99_c1_ms!, 3) } : {}),
      cpu_us_per_req: round(v.cpu_us_per_req, 0),
      rounds_rps: v.rounds_rps.map((x) => round(x, 0)),
    });
    const ratios = Object.fromEntries(Object.entries(r.ratios).map(([k, v]) => [k, round(v, k.endsWith('_rps') ? 3 : 0)]));
    const result = { chain: { ...r, plain: fig(r.plain), plain_entry: fig(r.plain_entry), graylane: fig(r.graylane), proxy: fig(r.proxy), ratios } };
    const c = result.chain;
    const line = (name: string, v: ReturnType<typeof fig>) => ({
      name: `chain ${name}: req/s, p50, p99 at ${r.connections} connections${v.p50_c1_ms !== undefined ? '; p50 at 1 connection' : ''}; server CPU per request`,
      value: `${v.rps} req/s, ${v.p50_ms} ms, ${v.p99_ms} ms${v.p50_c1_ms !== undefined ? `; ${v.p50_c1_ms} ms` : ''}; ${v.cpu_us_per_req} µs`,
    });
    const rows: Row[] = [
      line('plain', c.plain),
      line('plain_entry (diagnostic: plain behind a bare Node proxy)', c.plain_entry),
      line('graylane', c.graylane),
      line('proxy', c.proxy),
      { name: 'graylane / plain throughput', value: `${c.ratios['graylane_vs_plain_rps']}`, target: '≥ 0.90', met: (c.ratios['graylane_vs_plain_rps'] ?? 0) >= 0.9 },
      { name: 'plain_entry / plain throughput (what an entry proxy hop alone costs)', value: `${c.ratios['plain_entry_vs_plain_rps']}` },
      { name: 'graylane / plain_entry throughput (graylane with the entry hop factored out)', value: `${c.ratios['graylane_vs_plain_entry_rps']}` },
      { name: 'graylane / proxy throughput', value: `${c.ratios['graylane_vs_proxy_rps']}`, target: '≥ 1.5', met: (c.ratios['graylane_vs_proxy_rps'] ?? 0) >= 1.5 },
      {
        name: `added p50 per hop, graylane − plain, at ${r.connections} connections (÷ ${r.hops} hops)`,
        value: `${c.ratios['graylane_added_p50_us_per_hop']} µs`,
        target: '≤ 50 µs',
        met: (c.ratios['graylane_added_p50_us_per_hop'] ?? Infinity) <= 50,
      },
    ];
    if (c.ratios['graylane_added_p50_c1_us_per_hop'] !== undefined) {
      rows.push({ name: 'added p50 per hop, graylane − plain, at 1 connection (no queueing)', value: `${c.ratios['graylane_added_p50_c1_us_per_hop']} µs`, target: '(≤ 50 µs)' });
    }
    for (const variant of ['plain', 'plain_entry', 'graylane', 'proxy'] as const) {
      const by = Object.entries(c[variant].cpu_us_per_req_by_process).map(([name, us]) => `${name} ${us}`).join(', ');
      rows.push({ name: `server CPU µs per chain request by process, ${variant}`, value: by });
    }
    rows.push({ name: 'added p50 per hop, proxy − plain, at 32 connections', value: `${c.ratios['proxy_added_p50_us_per_hop']} µs` });
    return { result, rows };
  },
};

/** `0.97 [0.92, 1.01]`: a median and its 95 % interval. */
const withCi = (e: Estimate, digits: number) => `${round(e.median, digits)} [${round(e.ci95[0], digits)}, ${round(e.ci95[1], digits)}]`;
const ciOf = (e: Estimate, digits: number) => ({ median: round(e.median, digits), ci95: [round(e.ci95[0], digits), round(e.ci95[1], digits)] });

const sameTopology: Suite = {
  name: 'same_topology',
  description: 'what graylane costs a service: the same A → B → C (3 processes, base only), with and without graylane, with and without OpenTelemetry, short interleaved rounds',
  async run(ctx) {
    const r = await benchSameTopology({
      rounds: ctx.rounds ?? (ctx.quick ? 4 : 12),
      durationS: ctx.durationS ?? (ctx.quick ? 2 : 4),
      connections: ctx.connections ?? 8,
      warmupS: ctx.quick ? 2 : 4,
      distDir: ctx.distDir,
      log: ctx.log,
    });
    const cpu = (by: Record<string, Estimate>) => Object.fromEntries(Object.entries(by).map(([k, e]) => [k, ciOf(e, 0)]));
    const s = {
      connections: r.connections,
      rounds: r.rounds,
      duration_s: r.duration_s,
      rps_by_round: Object.fromEntries(Object.entries(r.rps).map(([k, v]) => [k, v.map((x) => round(x, 0))])),
      graylane_vs_plain_rps: round(r.graylane_vs_plain_rps.median, 3),
      graylane_vs_plain_rps_ci95: ciOf(r.graylane_vs_plain_rps, 3).ci95,
      graylane_otel_vs_plain_otel_rps: round(r.graylane_otel_vs_plain_otel_rps.median, 3),
      graylane_otel_vs_plain_otel_rps_ci95: ciOf(r.graylane_otel_vs_plain_otel_rps, 3).ci95,
      plain_otel_vs_plain_rps: round(r.plain_otel_vs_plain_rps.median, 3),
      plain_otel_vs_plain_rps_ci95: ciOf(r.plain_otel_vs_plain_rps, 3).ci95,
      graylane_added_cpu_us: cpu(r.graylane_added_cpu_us),
      graylane_otel_added_cpu_us: cpu(r.graylane_otel_added_cpu_us),
    };
    const perProcess = (by: Record<string, Estimate>) => ['a', 'b', 'c', 'all'].map((k) => `${k} ${withCi(by[k]!, 0)}`).join('; ');
    const rows: Row[] = [
      { name: `same topology: graylane / plain throughput, median [95 % CI] of ${r.rounds} rounds (\`chain.same_topology.graylane_vs_plain_rps\`)`, value: withCi(r.graylane_vs_plain_rps, 3), target: '≥ 0.95', met: r.graylane_vs_plain_rps.median >= 0.95 },
      { name: 'same topology: graylane_otel / plain_otel throughput (`chain.same_topology.graylane_otel_vs_plain_otel_rps`)', value: withCi(r.graylane_otel_vs_plain_otel_rps, 3), target: '≥ 0.98', met: r.graylane_otel_vs_plain_otel_rps.median >= 0.98 },
      { name: 'same topology: plain_otel / plain throughput (what OpenTelemetry itself costs)', value: withCi(r.plain_otel_vs_plain_rps, 3) },
      { name: 'same topology: CPU µs per request graylane adds, by process (vs plain)', value: perProcess(r.graylane_added_cpu_us) },
      { name: 'same topology: CPU µs per request graylane adds, by process (vs plain_otel)', value: perProcess(r.graylane_otel_added_cpu_us) },
    ];
    return { result: { chain: { same_topology: s } }, rows };
  },
};

const memory: Suite = {
  name: 'memory',
  description: 'RSS of a process holding 200 services × 50 instances in a lane router vs the same lists without graylane',
  async run(ctx) {
    const script = join(ctx.distDir, 'procs', 'memory-child.js');
    const samples: Record<'plain' | 'graylane', { rssMb: number; heapUsedMb: number }[]> = { plain: [], graylane: [] };
    const times = ctx.quick ? 3 : 5;
    for (let i = 0; i < times; i++) {
      for (const variant of ['plain', 'graylane'] as const) {
        const out = await runNode(`memory ${variant}`, script, [variant], ['--expose-gc'], 60_000);
        const line = out.trim().split('\n').pop() ?? '';
        samples[variant].push(JSON.parse(line) as { rssMb: number; heapUsedMb: number });
      }
    }
    const rss = (v: 'plain' | 'graylane') => median(samples[v].map((s) => s.rssMb));
    const heap = (v: 'plain' | 'graylane') => median(samples[v].map((s) => s.heapUsedMb));
    ctx.log(`rss plain ${rss('plain').toFixed(1)} MB, graylane ${rss('graylane').toFixed(1)} MB (median of ${times} each)`);
    const indexMb = round(rss('graylane') - rss('plain'), 2);
    const result = {
      memory: {
        index_200x50_mb: indexMb,
        plain_rss_mb: round(rss('plain'), 1),
        graylane_rss_mb: round(rss('graylane'), 1),
        index_heap_delta_200x50_mb: round(heap('graylane') - heap('plain'), 2),
      },
    };
    return {
      result,
      rows: [
        { name: 'RSS, 200 services × 50 instances: graylane / without graylane', value: `${result.memory.graylane_rss_mb} MB / ${result.memory.plain_rss_mb} MB` },
        { name: 'index memory, RSS difference (`memory.index_200x50_mb`)', value: `${indexMb} MB`, target: '≤ 30 MB', met: indexMb <= 30 },
        { name: 'index memory, heap difference after gc', value: `${result.memory.index_heap_delta_200x50_mb} MB` },
      ],
    };
  },
};

/** In run order. The chain runs last among the CPU-heavy ones so micro figures see a quiet machine. */
const rules: Suite = {
  name: 'rules',
  description: 'parsing 10,000 lanes, and the longest event-loop block of a 10,000-lane reload (worker parse, sliced compile)',
  async run(ctx) {
    ctx.log('10,000 lanes: parseRules, then a reload off the event loop');
    const { parseMs, reloadBlockMs, reloadMs } = await benchRulesReload({ rounds: ctx.quick ? 1 : 3 });
    return {
      result: { rules: { parse_10k_ms: round(parseMs, 0), reload_block_ms: round(reloadBlockMs), reload_10k_ms: round(reloadMs, 0) } },
      rows: [
        { name: 'rules.parse_10k_ms', value: `${round(parseMs, 0)} ms` },
        { name: 'rules.reload_block_ms', value: `${round(reloadBlockMs)} ms`, target: '≤ 10 ms', met: reloadBlockMs <= 10 },
        { name: 'rules.reload_10k_ms (wall time of the reload)', value: `${round(reloadMs, 0)} ms` },
      ],
    };
  },
};

export const SUITES: readonly Suite[] = [micro, memory, sameTopology, chain, nacos, lifecycle, rules, messages];
