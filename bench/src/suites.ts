/**
 * The benchmark suites. Each returns a partial result (deep-merged into latest.json) and the rows it
 * prints. To add figures (e.g. `nacos.*`), append a suite here: nothing else needs to change.
 */
import { join } from 'node:path';
import { runNode } from './children.js';
import { benchGateway } from './gateway.js';
import { benchGraySplit } from './gray-split.js';
import type { VariantSummary } from './gray-split.js';
import { benchAdapters } from './micro-adapters.js';
import { median } from './rounds.js';
import { benchHop } from './micro-hop.js';
import { benchMatch, benchMatchLarge } from './micro-match.js';
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
    ctx.log('rule matching: 10,000 lanes (20,000 rules, the rules suite\'s shape)');
    const matchLarge = await benchMatchLarge();
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
        match_10k_ns: round(matchLarge.matchLastNs),
        match_10k_none_ns: round(matchLarge.matchNoneNs),
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
        { name: 'match, 10,000 lanes (20,000 rules keyed on a header or query value), last lane matches (`micro.match_10k_ns`); none matches', value: `${ns(m.match_10k_ns)}; ${ns(m.match_10k_none_ns)}` },
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

/** A variant's figures as latest.json keeps them: throughput, latency, CPU per request by process, per-round throughput. */
const perProcessUs = (by: Record<string, number>) => Object.fromEntries(Object.entries(by).filter(([k]) => k !== 'all').map(([k, us]) => [k, round(us, 0)]));
const figures = (v: VariantSummary) => ({
  rps: round(v.rps, 0),
  p50_ms: round(v.p50_ms, 3),
  p99_ms: round(v.p99_ms, 3),
  p50_c1_ms: round(v.p50_c1_ms, 3),
  p99_c1_ms: round(v.p99_c1_ms, 3),
  cpu_us_per_req: round(v.cpu_us_per_req_by_process['all'] ?? Number.NaN, 0),
  cpu_us_per_req_by_process: perProcessUs(v.cpu_us_per_req_by_process),
  cpu_us_per_req_loaded: round(v.cpu_us_per_req_by_process_loaded['all'] ?? Number.NaN, 0),
  cpu_us_per_req_by_process_loaded: perProcessUs(v.cpu_us_per_req_by_process_loaded),
  rps_by_round: v.rounds.map((r) => round(r.rps, 0)),
  p99_ms_by_round: v.rounds.map((r) => round(r.p99_ms, 3)),
  requests: v.requests,
  errors: v.errors,
});
/** `{ key: median, key_ci95: [lo, hi] }` for latest.json. */
const withCiKeys = (key: string, e: Estimate, digits: number) => ({ [key]: round(e.median, digits), [`${key}_ci95`]: ciOf(e, digits).ci95 });
const byProcess = (by: Record<string, number>) =>
  Object.entries(by)
    .filter(([k]) => k !== 'all')
    .map(([k, us]) => `${k} ${round(us, 0)}`)
    .join(', ');

/** The options of a macro suite of short interleaved rounds with a one-connection phase, from the runner's flags. */
const interleaved = (ctx: SuiteContext, connections: number) => ({
  rounds: ctx.rounds ?? (ctx.quick ? 4 : 12),
  durationS: ctx.durationS ?? (ctx.quick ? 2 : 4),
  connections: ctx.connections ?? connections,
  warmupS: ctx.quick ? 2 : 4,
  c1S: ctx.quick ? 2 : 3,
  distDir: ctx.distDir,
  log: ctx.log,
});

const graySplit: Suite = {
  name: 'gray_split',
  description: 'graylane or a sidecar: A → B → C with gray A and C, half the requests gray, the same nginx entry deciding the lane in every variant; graylane vs nginx per hop vs no routing, short interleaved rounds',
  async run(ctx) {
    const r = await benchGraySplit(interleaved(ctx, 8));
    const s = {
      connections: r.connections,
      rounds: r.rounds,
      duration_s: r.duration_s,
      nginx_version: r.nginx_version,
      loadavg_start: r.loadavg_start,
      loadavg_end: r.loadavg_end,
      graylane: figures(r.variants.graylane),
      proxy: figures(r.variants.proxy),
      plain_entry: figures(r.variants.plain_entry),
      ...withCiKeys('graylane_vs_proxy_rps', r.graylane_vs_proxy_rps, 3),
      ...withCiKeys('graylane_vs_plain_entry_rps', r.graylane_vs_plain_entry_rps, 3),
      ...withCiKeys('proxy_vs_plain_entry_rps', r.proxy_vs_plain_entry_rps, 3),
      ...withCiKeys('graylane_routing_cpu_us_per_hop', r.graylane_routing_cpu_us_per_hop, 0),
      ...withCiKeys('nginx_cpu_us_per_proxied_request', r.nginx_cpu_us_per_proxied_request, 0),
      ...withCiKeys('graylane_routing_cpu_vs_nginx', r.graylane_routing_cpu_vs_nginx, 2),
      ...withCiKeys('graylane_routing_cpu_us_per_hop_loaded', r.graylane_routing_cpu_us_per_hop_loaded, 0),
      ...withCiKeys('nginx_cpu_us_per_proxied_request_loaded', r.nginx_cpu_us_per_proxied_request_loaded, 0),
      ...withCiKeys('graylane_routing_cpu_vs_nginx_loaded', r.graylane_routing_cpu_vs_nginx_loaded, 2),
      ...withCiKeys('graylane_routing_cpu_us_per_hop_vs_proxy_services', r.graylane_routing_cpu_us_per_hop_vs_proxy_services, 0),
      ...withCiKeys('graylane_added_p50_c1_us_per_hop', r.graylane_added_p50_c1_us_per_hop, 0),
      ...withCiKeys('proxy_added_p50_c1_us_per_hop', r.proxy_added_p50_c1_us_per_hop, 0),
    };
    const line = (name: 'graylane' | 'proxy' | 'plain_entry') => {
      const f = s[name];
      return {
        name: `gray split ${name}: req/s, p50, p99 at ${r.connections} connections; p50 at 1 connection; CPU µs per request at 1 connection (under load)`,
        value: `${f.rps} req/s, ${f.p50_ms} ms, ${f.p99_ms} ms; ${f.p50_c1_ms} ms; ${f.cpu_us_per_req} µs (${f.cpu_us_per_req_loaded} µs)`,
      };
    };
    const rows: Row[] = [
      line('graylane'),
      line('proxy'),
      line('plain_entry'),
      { name: `gray split: graylane / proxy throughput, median [95 % CI] of ${r.rounds} rounds (\`chain.gray_split.graylane_vs_proxy_rps\`)`, value: withCi(r.graylane_vs_proxy_rps, 3), target: '≥ 1.0', met: r.graylane_vs_proxy_rps.median >= 1 },
      { name: 'gray split: graylane / plain_entry throughput (`chain.gray_split.graylane_vs_plain_entry_rps`)', value: withCi(r.graylane_vs_plain_entry_rps, 3) },
      { name: 'gray split: proxy / plain_entry throughput (what two nginx hops cost)', value: withCi(r.proxy_vs_plain_entry_rps, 3) },
      { name: "gray split: graylane's routing CPU µs per hop, (graylane − plain_entry A+B+C) ÷ 2, 1 connection", value: withCi(r.graylane_routing_cpu_us_per_hop, 0) },
      { name: "gray split: nginx's CPU µs per proxied request, (nginx-b + nginx-c) ÷ 2, 1 connection", value: withCi(r.nginx_cpu_us_per_proxied_request, 0) },
      { name: 'gray split: graylane routing CPU / nginx CPU per hop, 1 connection (`chain.gray_split.graylane_routing_cpu_vs_nginx`)', value: withCi(r.graylane_routing_cpu_vs_nginx, 2), target: '≤ 0.1', met: r.graylane_routing_cpu_vs_nginx.median <= 0.1 },
      { name: `gray split: the same three under load (${r.connections} connections): graylane µs per hop; nginx µs per proxied request; ratio`, value: `${withCi(r.graylane_routing_cpu_us_per_hop_loaded, 0)}; ${withCi(r.nginx_cpu_us_per_proxied_request_loaded, 0)}; ${withCi(r.graylane_routing_cpu_vs_nginx_loaded, 2)}` },
      { name: "gray split: graylane routing CPU µs per hop against proxy's services (same process layout), 1 connection", value: withCi(r.graylane_routing_cpu_us_per_hop_vs_proxy_services, 0) },
      { name: 'gray split: p50 latency a routed hop adds at 1 connection, vs plain_entry (÷ 2): graylane; proxy', value: `${withCi(r.graylane_added_p50_c1_us_per_hop, 0)} µs; ${withCi(r.proxy_added_p50_c1_us_per_hop, 0)} µs` },
      ...(['graylane', 'proxy', 'plain_entry'] as const).map((v) => ({ name: `gray split: CPU µs per request by process, ${v}, 1 connection (under load)`, value: `${byProcess(r.variants[v].cpu_us_per_req_by_process)} (${byProcess(r.variants[v].cpu_us_per_req_by_process_loaded)})` })),
      { name: 'gray split: load average (1, 5, 15 min) at start / end', value: `${r.loadavg_start.join(', ')} / ${r.loadavg_end.join(', ')}` },
    ];
    return { result: { chain: { gray_split: s } }, rows };
  },
};

const gateway: Suite = {
  name: 'gateway',
  description: "what the gateway costs: graylane's gateway vs nginx vs a bare Node proxy, one hop in front of the same upstream, short interleaved rounds",
  async run(ctx) {
    const r = await benchGateway(interleaved(ctx, 16));
    const variant = (name: 'graylane' | 'nginx' | 'node') => ({
      ...figures(r.variants[name]),
      ...withCiKeys('proxy_cpu_us_per_req', r.proxy_cpu_us[name], 0),
      ...withCiKeys('proxy_cpu_us_per_req_loaded', r.proxy_cpu_us_loaded[name], 0),
    });
    const g = {
      connections: r.connections,
      rounds: r.rounds,
      duration_s: r.duration_s,
      nginx_version: r.nginx_version,
      loadavg_start: r.loadavg_start,
      loadavg_end: r.loadavg_end,
      graylane: variant('graylane'),
      nginx: variant('nginx'),
      node: variant('node'),
      ...withCiKeys('graylane_vs_nginx_cpu', r.graylane_vs_nginx_cpu, 2),
      ...withCiKeys('graylane_vs_node_cpu', r.graylane_vs_node_cpu, 2),
      ...withCiKeys('graylane_vs_nginx_cpu_loaded', r.graylane_vs_nginx_cpu_loaded, 2),
      ...withCiKeys('graylane_vs_node_cpu_loaded', r.graylane_vs_node_cpu_loaded, 2),
      ...withCiKeys('graylane_vs_node_p99', r.graylane_vs_node_p99, 2),
      ...withCiKeys('graylane_vs_nginx_p99', r.graylane_vs_nginx_p99, 2),
      ...withCiKeys('graylane_vs_nginx_rps', r.graylane_vs_nginx_rps, 3),
      ...withCiKeys('graylane_vs_node_rps', r.graylane_vs_node_rps, 3),
    };
    const line = (name: 'graylane' | 'nginx' | 'node') => {
      const f = g[name];
      return {
        name: `gateway ${name}: req/s, p50, p99 at ${r.connections} connections; p50 at 1 connection; the proxy's CPU µs per request at 1 connection [95 % CI]; under load; the upstream's at 1 connection`,
        value: `${f.rps} req/s, ${f.p50_ms} ms, ${f.p99_ms} ms; ${f.p50_c1_ms} ms; ${withCi(r.proxy_cpu_us[name], 0)} µs; ${withCi(r.proxy_cpu_us_loaded[name], 0)} µs; ${f.cpu_us_per_req_by_process['upstream']} µs`,
      };
    };
    const rows: Row[] = [
      line('graylane'),
      line('nginx'),
      line('node'),
      { name: `gateway: graylane / nginx CPU per request, 1 connection, median [95 % CI] of ${r.rounds} rounds (\`gateway.graylane_vs_nginx_cpu\`)`, value: withCi(r.graylane_vs_nginx_cpu, 2), target: '≤ 2', met: r.graylane_vs_nginx_cpu.median <= 2 },
      { name: `gateway: graylane / nginx CPU per request under load (${r.connections} connections)`, value: withCi(r.graylane_vs_nginx_cpu_loaded, 2), target: '(≤ 2)', met: r.graylane_vs_nginx_cpu_loaded.median <= 2 },
      { name: 'gateway: graylane / bare Node proxy CPU per request, 1 connection; under load', value: `${withCi(r.graylane_vs_node_cpu, 2)}; ${withCi(r.graylane_vs_node_cpu_loaded, 2)}` },
      { name: 'gateway: graylane / bare Node proxy p99 under load (`gateway.graylane_vs_node_p99`)', value: withCi(r.graylane_vs_node_p99, 2), target: '≤ 1', met: r.graylane_vs_node_p99.median <= 1 },
      { name: 'gateway: graylane / nginx p99 under load', value: withCi(r.graylane_vs_nginx_p99, 2) },
      { name: 'gateway: graylane / nginx throughput (`gateway.graylane_vs_nginx_rps`)', value: withCi(r.graylane_vs_nginx_rps, 3) },
      { name: 'gateway: graylane / bare Node proxy throughput (`gateway.graylane_vs_node_rps`)', value: withCi(r.graylane_vs_node_rps, 3) },
      { name: 'gateway: load average (1, 5, 15 min) at start / end', value: `${r.loadavg_start.join(', ')} / ${r.loadavg_end.join(', ')}` },
    ];
    return { result: { gateway: g }, rows };
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
  description: 'parsing 10,000 lanes, and the longest the event loop is held while a rules manager loads and reloads 10,000 lanes (worker parse, sliced compile)',
  async run(ctx) {
    ctx.log('10,000 lanes: parseRules, then a rules manager loading them and applying four updates (1 % of the lanes\' match rules changed, twice; 1 % of their chains; every lane)');
    const r = await benchRulesReload({ rounds: ctx.quick ? 1 : 3 });
    const ms = (v: number) => round(v, 1);
    /** How the main thread spent a kind's longest delay, when measured: running, and waiting for a CPU. */
    const waited = (kind: keyof typeof r.blocks) => {
      const blocks = r.blocks[kind];
      const at = blocks.indexOf(Math.max(...blocks));
      return r.waits[kind].length === blocks.length ? `; thread ran ${r.running[kind][at]} ms, waited for a CPU ${r.waits[kind][at]} ms` : '';
    };
    const result = {
      rules: {
        parse_10k_ms: round(r.parseMs, 0),
        reload_block_ms: ms(r.reloadBlockMs),
        reload_gc_max_ms: ms(r.reloadGcMaxMs),
        reload_chain_block_ms: ms(r.chainBlockMs),
        reload_chain_gc_max_ms: ms(r.chainGcMaxMs),
        replace_block_ms: ms(r.replaceBlockMs),
        replace_gc_max_ms: ms(r.replaceGcMaxMs),
        load_block_ms: ms(r.loadBlockMs),
        load_gc_max_ms: ms(r.loadGcMaxMs),
        idle_block_ms: ms(r.idleBlockMs),
        reload_10k_ms: round(r.reloadMs, 0),
        replace_10k_ms: round(r.replaceMs, 0),
        blocks_ms: r.blocks,
        block_running_ms: r.running,
        block_waits_ms: r.waits,
        gc_total_ms: r.gcTotals,
        loadavg: r.loadavg,
      },
    };
    return {
      result,
      rows: [
        { name: 'rules.parse_10k_ms (parseRules, synchronous)', value: `${result.rules.parse_10k_ms} ms` },
        {
          name: 'rules.reload_block_ms: a rules manager and its router (as startGraylane wires them) applying 10,000 lanes, 1 % changed: longest delay of a 1 ms interval (longest GC pause within)',
          value: `${result.rules.reload_block_ms} ms (GC ${result.rules.reload_gc_max_ms} ms${waited('reload')}; load ${r.loadavg.map((x) => x.toFixed(2)).join(' → ')})`,
          target: '≤ 10 ms',
          met: r.reloadBlockMs <= 10,
        },
        {
          name: 'rules.reload_chain_block_ms: the same, 1 % of the lanes given a new fallback chain',
          value: `${result.rules.reload_chain_block_ms} ms (GC ${result.rules.reload_chain_gc_max_ms} ms${waited('chain')})`,
          target: '≤ 10 ms',
          met: r.chainBlockMs <= 10,
        },
        {
          name: 'rules.replace_block_ms: the same, every lane changed (every regex compiled)',
          value: `${result.rules.replace_block_ms} ms (GC ${result.rules.replace_gc_max_ms} ms, ${Math.max(...r.gcTotals.replace)} ms in all${waited('replace')})`,
          target: '≤ 10 ms',
          met: r.replaceBlockMs <= 10,
        },
        { name: 'rules.load_block_ms: the first 10,000-lane content of a new manager, every regex compiled', value: `${result.rules.load_block_ms} ms (GC ${result.rules.load_gc_max_ms} ms${waited('load')})` },
        {
          name: 'rules.idle_block_ms: the control, the same watch over the manager holding the 10,000 lanes and doing nothing, as long as a replacement: the machine\'s floor',
          value: `${result.rules.idle_block_ms} ms (watches: ${r.blocks.idle.join(', ')} ms${waited('idle')})`,
        },
        { name: 'rules.reload_10k_ms (wall time from publish to the revision applied)', value: `${result.rules.reload_10k_ms} ms` },
        { name: 'rules.replace_10k_ms (the same, every lane changed)', value: `${result.rules.replace_10k_ms} ms` },
      ],
    };
  },
};

export const SUITES: readonly Suite[] = [micro, memory, sameTopology, graySplit, gateway, nacos, lifecycle, rules, messages];
