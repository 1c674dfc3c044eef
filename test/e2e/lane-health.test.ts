/**
 * Lanes that protect themselves, on real processes and loopback sockets: four instances of service
 * C (two base, two gray) are child processes (test/e2e/fixtures/lane-upstream.cjs), the entry
 * gateway runs in the test process, and a router lists the instances as a registry would. One gray
 * instance is SIGKILLed and stays listed, healthy, as until a registry notices: the window in which
 * only the callers' own connect failures tell. The gateway reports each attempt that could not
 * connect to the router (through the outbound core's retries, as axios, fetch and node:http do);
 * with outlier ejection on, the router stops choosing the dead instance, and with a health policy
 * of `minHealthy: 2` the gray lane, down to one instance, falls back to base. Every run counts
 * failed requests and wrong lanes: none allowed.
 */
import { createInstance, laneMetadata } from '@graylane/core';
import { ensureContextManager } from '@graylane/context';
import { createGateway } from '@graylane/gateway';
import type { Gateway } from '@graylane/gateway';
import { createRouter } from '@graylane/router';
import type { FallbackStep, LaneRouter, RouterOptions } from '@graylane/router';
import { kill, killAllUpstreams, startUpstream } from './upstreams.js';
import type { Upstream } from './upstreams.js';

/** Upstreams keep idle connections for a minute: no idle close races the test's requests. */
const LONG_IDLE = { IDLE_MS: '60000' };

interface Answer {
  readonly lane: string | undefined;
  readonly status: number;
  readonly name: string | undefined;
  readonly servedLane: string | undefined;
  /** The lane carrier the instance received. */
  readonly tag: string | null | undefined;
  readonly ms: number;
}

/** What one run of requests saw. */
interface Run {
  readonly answers: readonly Answer[];
  /** Attempts that could not connect, as the gateway reported them to the router: retries paid. */
  readonly failures: number;
  /** Requests that paid at least one retry. */
  readonly retried: number;
  /** The fallback steps of the first selection of each gray request. */
  readonly fallbacks: ReadonlyArray<readonly FallbackStep[]>;
}

/** The world of one test: four instances of C, a router with `options`, a gateway in front. */
async function world(options: RouterOptions) {
  const upstreams = await Promise.all([
    startUpstream('c-base-1', undefined, LONG_IDLE),
    startUpstream('c-base-2', undefined, LONG_IDLE),
    startUpstream('c-gray-1', 'gray', LONG_IDLE),
    startUpstream('c-gray-2', 'gray', LONG_IDLE),
  ]);
  const router = createRouter(undefined, options);
  router.update(
    'c',
    upstreams.map((u) => createInstance({ service: 'c', host: '127.0.0.1', port: u.port, metadata: u.lane ? laneMetadata(u.lane) : {} })),
  );
  // Count what the gateway tells the router: each report is an attempt that could not connect.
  let failures = 0;
  const report = router.reportFailure.bind(router);
  router.reportFailure = (instance, kind) => {
    failures++;
    report(instance, kind);
  };
  const fallbacks = new Map<string, readonly FallbackStep[]>();
  // Loopback is trusted so that the test chooses each request's lane with x-mse-tag.
  const gateway = createGateway({
    router,
    upstream: 'c',
    trust: 'all',
    onRoute: ({ selection }, req) => void fallbacks.set(String(req.headers['x-request-id']), selection.fallback),
  });
  const url = `http://127.0.0.1:${(await gateway.listen(0)).port}`;
  let sequence = 0;

  async function call(lane: string | undefined): Promise<Answer & { failures: number; fallback: readonly FallbackStep[] | undefined }> {
    const id = String(sequence++);
    const before = failures;
    const started = performance.now();
    const response = await fetch(`${url}/x`, { headers: { 'x-request-id': id, ...(lane ? { 'x-mse-tag': lane } : {}) } });
    const body = (await response.json()) as { name?: string; lane?: string; tag?: string | null };
    return {
      lane,
      status: response.status,
      name: body.name,
      servedLane: body.lane,
      tag: body.tag,
      ms: performance.now() - started,
      failures: failures - before,
      fallback: fallbacks.get(id),
    };
  }

  /** `total` requests, every other one gray, from `clients` concurrent clients. */
  async function run(total: number, clients = 4): Promise<Run> {
    const start = failures;
    const answers: Answer[] = [];
    const gray: Array<readonly FallbackStep[]> = [];
    let retried = 0;
    let sent = 0;
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (sent < total) {
          const lane = sent++ % 2 === 0 ? 'gray' : undefined;
          const answer = await call(lane);
          answers.push(answer);
          // With concurrent clients a report may land in another request's window; sequential
          // runs (clients = 1) attribute exactly.
          if (answer.failures > 0) retried++;
          if (lane === 'gray' && answer.fallback !== undefined) gray.push(answer.fallback);
        }
      }),
    );
    return { answers, failures: failures - start, retried, fallbacks: gray };
  }

  return { upstreams, router, gateway, run };
}

/** Failed answers, and answers served in another lane than the request's or base. */
function tally(answers: readonly Answer[]): { failed: Answer[]; wrongLane: Answer[] } {
  return {
    failed: answers.filter((a) => a.status !== 200),
    wrongLane: answers.filter((a) => a.status === 200 && a.servedLane !== (a.lane ?? 'base') && a.servedLane !== 'base'),
  };
}

const names = (answers: readonly Answer[], lane: string | undefined) =>
  [...new Set(answers.filter((a) => a.lane === lane).map((a) => a.name))].sort();

const mean = (answers: readonly Answer[]) => answers.reduce((sum, a) => sum + a.ms, 0) / Math.max(1, answers.length);

/** Figures for the report, printed once at the end. */
const figures: string[] = [];

describe('lanes that protect themselves: a gray instance SIGKILLed and still listed', () => {
  let gateway: Gateway | undefined;
  let router: LaneRouter | undefined;

  beforeAll(() => ensureContextManager());

  afterEach(async () => {
    await gateway?.close();
    router?.close();
    await killAllUpstreams();
  });

  afterAll(() => {
    if (figures.length > 0) process.stdout.write(`lane-health figures:\n  ${figures.join('\n  ')}\n`);
  });

  test('without ejection (control): gray requests keep paying a retry on the dead instance', async () => {
    const w = await world({});
    ({ gateway, router } = w);
    await w.run(40);
    await kill(w.upstreams[2]!);
    const after = await w.run(200, 1);
    expect(tally(after.answers)).toEqual({ failed: [], wrongLane: [] });
    expect(names(after.answers, 'gray')).toEqual(['c-gray-2']);
    // Round-robin over the two gray instances: at least every other gray request tries the dead
    // one first (a retry moves the cursor too, so in a sequential run every gray request does).
    expect(after.retried).toBeGreaterThanOrEqual(50);
    figures.push(
      `control (no ejection): ${after.retried}/100 gray requests paid a retry (${after.failures} failed connects), mean ${mean(after.answers.filter((a) => a.lane === 'gray')).toFixed(2)} ms per gray request`,
    );
  }, 60_000);

  test('with outlier ejection: after the first connect failures, gray requests stop paying the retry and stay in gray', async () => {
    const w = await world({ outlier: { consecutiveFailures: 3 } });
    ({ gateway, router } = w);
    await w.run(40);
    expect(w.router.ejected('c')).toEqual([]);
    await kill(w.upstreams[2]!);
    const dead = `127.0.0.1:${w.upstreams[2]!.port}`;
    // Under load: 4 concurrent clients while the router learns.
    const learning = await w.run(200);
    expect(tally(learning.answers)).toEqual({ failed: [], wrongLane: [] });
    expect(w.router.ejected('c')).toEqual([dead]);
    // Three failures in a row eject it; calls already on their way when it was ejected may add one each.
    expect(learning.failures).toBeGreaterThanOrEqual(3);
    expect(learning.failures).toBeLessThanOrEqual(3 + 4);
    expect(names(learning.answers, 'gray')).toEqual(['c-gray-2']);
    // Ejected: no request pays a retry any more, and gray is served by the live gray instance.
    const steady = await w.run(200, 1);
    expect(tally(steady.answers)).toEqual({ failed: [], wrongLane: [] });
    expect(steady.failures).toBe(0);
    expect(names(steady.answers, 'gray')).toEqual(['c-gray-2']);
    expect(names(steady.answers, undefined)).toEqual(['c-base-1', 'c-base-2']);
    expect(steady.fallbacks.every((f) => f.length === 0)).toBe(true);
    figures.push(
      `ejection: ${learning.failures} failed connects while learning (200 requests, 4 clients), then 0 in 200 (100 gray, mean ${mean(steady.answers.filter((a) => a.lane === 'gray')).toFixed(2)} ms per gray request), all gray served by c-gray-2`,
    );
  }, 60_000);

  test('an ejection ends after ejectMs: the dead instance is tried again, and ejected again, longer', async () => {
    const w = await world({ outlier: { consecutiveFailures: 2, ejectMs: 1000 } });
    ({ gateway, router } = w);
    await kill(w.upstreams[2]!);
    // Runs of 10 requests (5 gray), sequential: each well within the ejection times.
    const first = await w.run(10, 1);
    expect(first.failures).toBe(2);
    expect(w.router.ejected('c')).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(w.router.ejected('c')).toEqual([]);
    const second = await w.run(10, 1);
    expect(second.failures).toBe(2); // tried again, ejected again (now for 2000 ms)
    expect(w.router.ejected('c')).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const third = await w.run(10, 1);
    expect(third.failures).toBe(0); // still out: the second ejection lasts twice as long
    for (const run of [first, second, third]) expect(tally(run.answers)).toEqual({ failed: [], wrongLane: [] });
  }, 60_000);

  test('with a health policy of minHealthy 2: gray falls back to base C once one gray instance is gone', async () => {
    const w = await world({ outlier: { consecutiveFailures: 3 }, health: { lanes: { gray: { minHealthy: 2 } } } });
    ({ gateway, router } = w);
    const before = await w.run(40);
    expect(names(before.answers, 'gray')).toEqual(['c-gray-1', 'c-gray-2']);
    await kill(w.upstreams[2]!);
    const learning = await w.run(200);
    expect(tally(learning.answers)).toEqual({ failed: [], wrongLane: [] });
    expect(learning.failures).toBeLessThanOrEqual(3 + 4);
    // The lane is down to one usable instance: gray requests go to base, marked lane-unhealthy, and
    // keep their lane carrier (the next hops still see gray).
    const steady = await w.run(200, 1);
    expect(tally(steady.answers)).toEqual({ failed: [], wrongLane: [] });
    expect(steady.failures).toBe(0);
    const gray = steady.answers.filter((a) => a.lane === 'gray');
    expect(gray).toHaveLength(100);
    // (Sequential gray and base requests alternate on the base pool's cursor: which base instance
    // serves gray is the balancer's business; that it is base is the policy's.)
    expect(gray.every((a) => a.servedLane === 'base' && a.name?.startsWith('c-base-') === true && a.tag === 'gray')).toBe(true);
    expect(steady.fallbacks).toHaveLength(100);
    expect(steady.fallbacks.every((f) => f.length === 1 && f[0]!.lane === 'gray' && f[0]!.reason === 'lane-unhealthy')).toBe(true);
    expect(steady.answers.filter((a) => a.lane === undefined).every((a) => a.name?.startsWith('c-base-') === true)).toBe(true);
    const learnedAt = learning.answers.findIndex((a) => a.lane === 'gray' && a.servedLane === 'base');
    figures.push(
      `health minHealthy 2: ${learning.failures} failed connects while learning; gray served by base from about request ${learnedAt} of 200 after the kill; then 100/100 gray requests on base with reason lane-unhealthy, 0 retries, mean ${mean(gray).toFixed(2)} ms`,
    );
  }, 60_000);
});
