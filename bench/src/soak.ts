/**
 * The soak (#12.7): `npm run bench -- soak --minutes N` (default 30). The demo chain (gateway, A, B,
 * C on base, A and C on gray, each a process on the file registry) under a bounded mixed load, half
 * gray (`?group=gray`, the seed rule) and half base, with one service instance restarted (SIGTERM,
 * then started again) every minute, in turn: c-gray, a-gray, c-base, a-base, b-base. Reports:
 *
 * - `soak.failed`: requests not answered 200. Each lane has one instance per service, so a request
 *   that arrives while the only instance of its hop is down fails with the typed error (503
 *   `GRAYLANE_ERR_NO_INSTANCE`); those are counted in `soak.failed` and, apart, in
 *   `soak.failed_typed` (by code, service and lane in `soak.failed_typed_by`; the demo services carry
 *   a typed error from the hop that raised it up to the client). A typed failure while no instance of
 *   its service was down is `soak.failed_typed_unexpected`; a failure not typed is `soak.failed_untyped`.
 * - `soak.wrong_lane`: answers whose hops were served in a lane the request may not use: a base
 *   request with any gray hop, or a gray request with a base A or C while that service's gray
 *   instance was up for the whole request (while it restarts, the lane falls back to base, by design).
 * - `soak.rss_growth_pct`: per process never restarted (gateway and, when its turn has not come,
 *   others), resident memory at the end against the first sample after a one-minute warm-up (the
 *   first restart); the largest is `soak.rss_growth_pct`, all are in `soak.rss_growth_pct_by_process`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import type { Row, Suite, SuiteContext } from './suites.js';

/** What the soak uses of the demo's launcher (examples/demo/src/launcher.ts), loaded from its build. */
interface Demo {
  readonly url: string;
  readonly processes: ReadonlyMap<string, { readonly child: ChildProcess }>;
  start(name: string): Promise<unknown>;
  stop(name: string, signal?: NodeJS.Signals): Promise<void>;
  close(): Promise<void>;
}
type LaunchDemo = (options: { distDir: string; rulesPath: string; port: number; env: NodeJS.ProcessEnv }) => Promise<Demo>;

const RESTART_ORDER = ['c-gray', 'a-gray', 'c-base', 'a-base', 'b-base'] as const;
const CLIENTS = 4;
/** Pause of each client between its requests: bounds the load (about 4 × 1000 / (5 + latency) per second). */
const PAUSE_MS = 5;

interface Down {
  readonly name: string;
  readonly from: number;
  to: number;
}

export function soakSuite(minutes: number): Suite {
  return {
    name: 'soak',
    description: `the demo chain for ${minutes} min under mixed gray/base load, one instance restarted every minute`,
    run: (ctx) => soak(ctx, minutes),
  };
}

async function soak(ctx: SuiteContext, minutes: number): Promise<{ result: Record<string, unknown>; rows: Row[] }> {
  if (!(minutes > 0)) throw new Error(`--minutes must be a positive number, got ${minutes}`);
  const demoDir = join(ctx.distDir, '..', '..', 'examples', 'demo');
  const { launchDemo } = (await import(pathToFileURL(join(demoDir, 'dist', 'launcher.js')).href)) as { launchDemo: LaunchDemo };
  const demo = await launchDemo({ distDir: join(demoDir, 'dist'), rulesPath: join(demoDir, 'rules.yaml'), port: 0, env: { ...process.env, NACOS_SERVER_ADDR: '' } });
  try {
    const ready = Date.now() + 10_000;
    while (Date.now() < ready && (await ask(demo, false)).status !== 200) await sleep(100);

    const endAt = Date.now() + minutes * 60_000;
    const downs: Down[] = [];
    const restarted = new Set<string>();
    let baseline: Map<string, number> | undefined;
    const tally = { requests: 0, failed: 0, failedTyped: 0, typedUnexpected: 0, typedBy: {} as Record<string, number>, wrongLane: 0, examples: [] as string[] };

    const clients = Array.from({ length: CLIENTS }, async (_, client) => {
      for (let i = 0; Date.now() < endAt; i++) {
        const gray = (i + client) % 2 === 0;
        const started = Date.now();
        const answer = await ask(demo, gray);
        tally.requests++;
        if (answer.status !== 200) {
          tally.failed++;
          const typed = typedFailure(answer.body);
          if (typed === undefined) {
            if (tally.examples.length < 5) tally.examples.push(`${answer.status} ${answer.body.slice(0, 160)}`);
          } else {
            tally.failedTyped++;
            const key = `${typed.code} ${typed.service}[${typed.lane}]`;
            tally.typedBy[key] = (tally.typedBy[key] ?? 0) + 1;
            // Expected only while an instance of that service is down (or just back, not yet seen).
            if (!downs.some((d) => d.name.startsWith(`${typed.service}-`) && d.from <= Date.now() && d.to >= started)) {
              tally.typedUnexpected++;
              if (tally.examples.length < 5) tally.examples.push(`typed, no instance of ${typed.service} was down: ${answer.body.slice(0, 160)}`);
            }
          }
        } else if (wrongLane(answer.body, gray, started, Date.now(), downs)) {
          tally.wrongLane++;
          if (tally.examples.length < 5) tally.examples.push(`wrong lane: ${answer.body.trim()}`);
        }
        await sleep(PAUSE_MS);
      }
    });

    const restarts = (async () => {
      for (let turn = 0; ; turn++) {
        await sleep(Math.min(60_000, Math.max(0, endAt - Date.now())));
        if (Date.now() >= endAt - 5_000) return;
        baseline ??= rssByProcess(demo);
        const name = RESTART_ORDER[turn % RESTART_ORDER.length]!;
        const down: Down = { name, from: Date.now(), to: Infinity };
        downs.push(down);
        restarted.add(name);
        await demo.stop(name, 'SIGTERM');
        await demo.start(name);
        await sleep(2_000); // the registry's watchers see it again
        down.to = Date.now();
        ctx.log(`restarted ${name}; ${tally.requests} requests, ${tally.failed} failed, ${tally.wrongLane} wrong lane`);
      }
    })();

    await Promise.all([...clients, restarts]);
    const end = rssByProcess(demo);
    const start = baseline ?? new Map<string, number>();
    const growth: Record<string, number> = {};
    for (const [name, rss] of end) {
      const first = start.get(name);
      if (first === undefined || restarted.has(name)) continue;
      growth[name] = Math.round(((rss - first) / first) * 1000) / 10;
    }
    const maxGrowth = Object.values(growth).length > 0 ? Math.max(...Object.values(growth)) : null;
    const result = {
      soak: {
        minutes,
        requests: tally.requests,
        failed: tally.failed,
        failed_typed: tally.failedTyped,
        failed_untyped: tally.failed - tally.failedTyped,
        failed_typed_unexpected: tally.typedUnexpected,
        failed_typed_by: tally.typedBy,
        wrong_lane: tally.wrongLane,
        restarts: downs.map((d) => d.name),
        rss_growth_pct: maxGrowth,
        rss_growth_pct_by_process: growth,
        examples: tally.examples,
      },
    };
    const rows: Row[] = [
      { name: `soak: requests over ${minutes} min, ${downs.length} restarts`, value: String(tally.requests) },
      { name: 'soak: failed (`soak.failed`; typed / untyped)', value: `${tally.failed} (${tally.failedTyped} / ${tally.failed - tally.failedTyped})`, target: 'untyped 0', met: tally.failed === tally.failedTyped },
      { name: 'soak: typed failures while no instance of their service was down (`soak.failed_typed_unexpected`)', value: String(tally.typedUnexpected), target: '0', met: tally.typedUnexpected === 0 },
      { name: 'soak: wrong lane (`soak.wrong_lane`)', value: String(tally.wrongLane), target: '0', met: tally.wrongLane === 0 },
      { name: 'soak: RSS growth, largest of the processes never restarted (`soak.rss_growth_pct`)', value: maxGrowth === null ? 'n/a (no warm-up sample)' : `${maxGrowth} %` },
    ];
    return { result, rows };
  } finally {
    await demo.close();
  }
}

async function ask(demo: Demo, gray: boolean): Promise<{ status: number; body: string }> {
  try {
    const response = await fetch(`${demo.url}/a${gray ? '?group=gray' : ''}`, { signal: AbortSignal.timeout(10_000) });
    return { status: response.status, body: await response.text() };
  } catch (error) {
    return { status: 0, body: String(error) };
  }
}

/** The answer's hops (`A[gray]@... -> B[base]@... -> C[gray]@...`) against the lanes the request may use. */
function wrongLane(body: string, gray: boolean, from: number, to: number, downs: readonly Down[]): boolean {
  for (const hop of body.trim().split(' -> ')) {
    const match = /^([A-Z])\[([a-z0-9._-]+)\]@/.exec(hop);
    if (!match) return true;
    const service = match[1]!.toLowerCase();
    const lane = match[2]!;
    if (!gray && lane !== 'base') return true;
    if (gray && lane === 'base' && service !== 'b') {
      const grayDown = downs.some((d) => d.name === `${service}-gray` && d.from <= to + 3_000 && d.to >= from - 3_000);
      if (!grayDown) return true;
    }
  }
  return false;
}

/** Resident memory in bytes of every demo process, from /proc (Linux). */
function rssByProcess(demo: Demo): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, proc] of demo.processes) {
    const pid = proc.child.pid;
    if (pid === undefined) continue;
    try {
      const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      if (kb) out.set(name, Number(kb) * 1024);
    } catch {
      // the process is restarting
    }
  }
  return out;
}

/**
 * graylane's typed error in a failed answer: the gateway's own (`{ error: { code, service, lane, ... } }`) or a demo
 * service's (`{ code, service, lane }`, carried up from the hop that had no instance).
 */
function typedFailure(body: string): { code: string; service: string; lane: string } | undefined {
  let answer: unknown;
  try {
    answer = JSON.parse(body);
  } catch {
    return undefined;
  }
  const top = answer as { code?: unknown; service?: unknown; lane?: unknown; error?: { code?: unknown; service?: unknown; lane?: unknown } };
  const text = (value: unknown) => (typeof value === 'string' ? value : '?');
  if (typeof top.code === 'string' && top.code.startsWith('GRAYLANE_ERR_')) return { code: top.code, service: text(top.service), lane: text(top.lane) };
  const inner = top.error;
  if (inner && typeof inner.code === 'string' && inner.code.startsWith('GRAYLANE_ERR_')) return { code: inner.code, service: text(inner.service), lane: text(inner.lane) };
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
