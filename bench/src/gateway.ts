/**
 * What does the gateway cost? (`gateway.*`): one hop, the gateway alone, in front of the same
 * upstream process (a plain service with no next hop, `GET /a` answering its own hop), in three
 * variants kept running side by side and loaded in short interleaved rounds:
 *
 * - `graylane`: graylane's entry gateway (procs/graylane-gateway.ts: the rule `?group=gray` → gray,
 *   selection of `a` on the file registry; there is no gray `a`, so gray requests fall back to base);
 * - `nginx`: one nginx (1 worker, keep-alive upstream) deciding the lane from `?group=gray` the same
 *   way (nginxSite's entry), with only a base upstream;
 * - `node`: a bare Node reverse proxy (procs/plain-entry.ts), no lane logic.
 *
 * The upstream is registered in the file registry by the runner itself, so the gateway finds it
 * without the upstream running any graylane code. Figures: throughput, p50 and p99 under load, and
 * the CPU µs per request of the proxy process alone (nginx: master and worker), compared with one
 * connection (each proxy handling one request at a time) and also reported under load; ratios are
 * medians of per-round ratios with a 95 % bootstrap interval.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileRegistry } from '@graylane/registry';
import { cleanEnv } from './macro.js';
import type { Deployment } from './macro.js';
import { startNode, startServer, stopAll } from './children.js';
import { freePort, interleavedRounds, loadavgNow, verifyRoutes } from './gray-split.js';
import type { RoundsOptions, VariantSummary } from './gray-split.js';
import { ensureNginx, nginxSite, nginxVersion } from './nginx.js';
import { estimate } from './same-topology.js';
import type { Estimate } from './same-topology.js';

export const GATEWAY_VARIANTS = ['graylane', 'nginx', 'node'] as const;
type Variant = (typeof GATEWAY_VARIANTS)[number];

export interface GatewayBenchOptions extends RoundsOptions {
  readonly distDir: string;
}

export interface GatewayResult {
  readonly connections: number;
  readonly rounds: number;
  readonly duration_s: number;
  readonly nginx_version: string;
  readonly loadavg_start: readonly number[];
  readonly loadavg_end: readonly number[];
  /** Per variant; `cpu_us_per_req_by_process.proxy` is the gateway's own CPU, `.upstream` the shared upstream's. */
  readonly variants: Record<Variant, VariantSummary>;
  /** The proxy's CPU µs per request, one connection: median over rounds and its interval. */
  readonly proxy_cpu_us: Record<Variant, Estimate>;
  /** The same under load. */
  readonly proxy_cpu_us_loaded: Record<Variant, Estimate>;
  /** The proxy's CPU per request, one connection, graylane's over nginx's. Target ≤ 2. */
  readonly graylane_vs_nginx_cpu: Estimate;
  readonly graylane_vs_node_cpu: Estimate;
  readonly graylane_vs_nginx_cpu_loaded: Estimate;
  readonly graylane_vs_node_cpu_loaded: Estimate;
  /** p99 under load, graylane's over the bare Node proxy's. Target ≤ 1. */
  readonly graylane_vs_node_p99: Estimate;
  readonly graylane_vs_nginx_p99: Estimate;
  readonly graylane_vs_nginx_rps: Estimate;
  readonly graylane_vs_node_rps: Estimate;
}

export async function benchGateway(options: GatewayBenchOptions): Promise<GatewayResult> {
  const { log } = options;
  const loadavgStart = loadavgNow();
  const nginx = ensureNginx(log);
  const tmp = mkdtempSync(join(tmpdir(), 'graylane-gateway-'));
  const registryDir = join(tmp, 'registry');
  const registry = createFileRegistry({ dir: registryDir });
  try {
    const script = (name: string) => join(options.distDir, 'procs', `${name}.js`);
    const env = cleanEnv();
    log('starting the upstream: plain service a, no next hop');
    const upstream = await startNode('gateway upstream', script('plain-service'), { ...env, SERVICE: 'a', LANE: 'base' });
    const registration = { service: 'a', host: '127.0.0.1', port: upstream.port };
    await registry.register(registration);
    const withUpstream = (pid: number, name: string, group: boolean): Deployment => ({
      entry: 0,
      pids: group ? [upstream.child.pid!] : [pid, upstream.child.pid!],
      groupPids: group ? [pid] : [],
      names: new Map([
        [pid, name],
        [upstream.child.pid!, 'upstream'],
      ]),
    });

    log('starting graylane: graylane-gateway → a on the file registry');
    const graylaneGateway = await startNode('gateway graylane', script('graylane-gateway'), { ...env, GRAYLANE_REGISTRY_DIR: registryDir });
    log(`starting nginx (${nginxVersion(nginx)}) → a`);
    const nginxPort = await freePort();
    const nginxMaster = await startServer('gateway nginx', nginx, nginxSite(join(tmp, 'nginx'), { name: 'gateway', listen: nginxPort, base: upstream.port, entry: true }), nginxPort);
    log('starting node: plain-entry → a');
    const nodeProxy = await startNode('gateway node', script('plain-entry'), { ...env, TARGET: `127.0.0.1:${upstream.port}` });
    const deployments: Record<Variant, Deployment> = {
      graylane: { ...withUpstream(graylaneGateway.child.pid!, 'proxy', false), entry: graylaneGateway.port },
      nginx: { ...withUpstream(nginxMaster.pid!, 'proxy', true), entry: nginxPort },
      node: { ...withUpstream(nodeProxy.child.pid!, 'proxy', false), entry: nodeProxy.port },
    };
    for (const variant of GATEWAY_VARIANTS) await verifyRoutes(`gateway ${variant}`, deployments[variant].entry, ['A[base]', 'A[base]']);

    const measured = await interleavedRounds(GATEWAY_VARIANTS, deployments, options);
    const rounds = (v: Variant) => measured[v].rounds;
    const proxyCpu = (v: Variant) => rounds(v).map((s) => s.cpu_us['proxy'] ?? 0);
    const proxyCpuLoaded = (v: Variant) => rounds(v).map((s) => s.cpu_us_loaded['proxy'] ?? 0);
    const each = (values: (v: Variant) => number[]) => Object.fromEntries(GATEWAY_VARIANTS.map((v) => [v, estimate(values(v))])) as Record<Variant, Estimate>;
    const ratio = (values: (v: Variant) => number[], a: Variant, b: Variant) => estimate(values(a).map((x, i) => x / values(b)[i]!));
    const rps = (v: Variant) => rounds(v).map((s) => s.rps);
    const p99 = (v: Variant) => rounds(v).map((s) => s.p99_ms);
    const result: GatewayResult = {
      connections: options.connections,
      rounds: options.rounds,
      duration_s: options.durationS,
      nginx_version: nginxVersion(nginx),
      loadavg_start: loadavgStart,
      loadavg_end: loadavgNow(),
      variants: measured,
      proxy_cpu_us: each(proxyCpu),
      proxy_cpu_us_loaded: each(proxyCpuLoaded),
      graylane_vs_nginx_cpu: ratio(proxyCpu, 'graylane', 'nginx'),
      graylane_vs_node_cpu: ratio(proxyCpu, 'graylane', 'node'),
      graylane_vs_nginx_cpu_loaded: ratio(proxyCpuLoaded, 'graylane', 'nginx'),
      graylane_vs_node_cpu_loaded: ratio(proxyCpuLoaded, 'graylane', 'node'),
      graylane_vs_node_p99: ratio(p99, 'graylane', 'node'),
      graylane_vs_nginx_p99: ratio(p99, 'graylane', 'nginx'),
      graylane_vs_nginx_rps: ratio(rps, 'graylane', 'nginx'),
      graylane_vs_node_rps: ratio(rps, 'graylane', 'node'),
    };
    await registry.deregister(registration);
    return result;
  } finally {
    log('stopping the gateway processes');
    await stopAll();
    await registry.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}
