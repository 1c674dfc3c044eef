/**
 * Transport faults at the entry gateway (#12), on real processes and loopback sockets: upstream
 * instances are child processes (test/e2e/fixtures/lane-upstream.cjs), the gateway runs in the test
 * process, and a router lists the instances as a registry would (a killed instance stays listed until
 * the registry notices, which is the window these tests cover). Load is bounded; every test counts
 * lost requests and wrong lanes.
 */
import { ErrorCode, createInstance, laneMetadata } from '@graylane/core';
import { ensureContextManager } from '@graylane/context';
import { createGateway } from '@graylane/gateway';
import type { Gateway } from '@graylane/gateway';
import { createRouter } from '@graylane/router';
import type { LaneRouter } from '@graylane/router';
import { kill, killAllUpstreams, startUpstream } from './upstreams.js';
import type { Upstream } from './upstreams.js';

function list(router: LaneRouter, service: string, upstreams: readonly Upstream[]): void {
  router.update(
    service,
    upstreams.map((u) => createInstance({ service, host: '127.0.0.1', port: u.port, metadata: u.lane ? laneMetadata(u.lane) : {} })),
  );
}

interface Answer {
  readonly status: number;
  readonly body: { name?: string; lane?: string; tag?: string | null; error?: { code: string; service?: string; lane?: string } };
}

async function call(gateway: string, lane: string | undefined): Promise<Answer> {
  const response = await fetch(`${gateway}/x`, { headers: lane ? { 'x-mse-tag': lane } : {} });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What a load run saw: failed answers, and answers served in another lane than the request's. */
function tally(answers: ReadonlyArray<{ lane: string | undefined; answer: Answer }>): { failed: Answer[]; wrongLane: Answer[] } {
  const failed = answers.filter((a) => a.answer.status !== 200).map((a) => a.answer);
  const wrongLane = answers.filter((a) => a.answer.status === 200 && a.answer.body.lane !== (a.lane ?? 'base')).map((a) => a.answer);
  return { failed, wrongLane };
}

describe('transport faults at the entry gateway', () => {
  let router: LaneRouter;
  let gateway: Gateway;
  let url: string;

  beforeAll(() => ensureContextManager());

  beforeEach(async () => {
    router = createRouter(undefined);
    // Loopback is trusted here so that the test chooses each request's lane with x-mse-tag.
    gateway = createGateway({ router, upstream: 'b', trust: 'all' });
    url = `http://127.0.0.1:${(await gateway.listen(0)).port}`;
  });

  afterEach(async () => {
    await gateway.close();
    router.close();
    await killAllUpstreams();
  });

  // Node's agent already refuses to reuse a connection announced as `timeout=1`; at 2 s it would
  // reuse it until the upstream closes it, unless the agent has a timeout of its own.
  test.each([
    ['a 2 s idle timeout that it announces (Keep-Alive: timeout=2)', '1', 2000],
    ['a 1 s idle timeout that it does not announce', '0', 1000],
  ])('an upstream with %s: requests timed around it lose nothing', async (_how, hint, idleMs) => {
    const env = { IDLE_MS: String(idleMs), HINT: hint };
    const upstreams = [await startUpstream('b-base', undefined, env), await startUpstream('b-gray', 'gray', env)];
    list(router, 'b', upstreams);
    // 6 clients, each: a request, then a pause just under the upstream's idle timeout (idle - 60 ms
    // to idle - 40 ms, each client on its own offset), 6 times: 36 requests, each reusing a
    // connection as the upstream closes it (see the fixture).
    const answers: Array<{ lane: string | undefined; answer: Answer }> = [];
    await Promise.all(
      Array.from({ length: 6 }, async (_, client) => {
        const lane = client % 2 === 0 ? 'gray' : undefined;
        for (let round = 0; round < 6; round++) {
          answers.push({ lane, answer: await call(url, lane) });
          await sleep(idleMs - 60 + ((client * 4 + round * 3) % 21));
        }
      }),
    );
    expect(answers).toHaveLength(36);
    expect(tally(answers)).toEqual({ failed: [], wrongLane: [] });
  }, 30_000);

  test('SIGKILL of a gray and of a base instance under load: no request lost, none in a wrong lane', async () => {
    const upstreams = await Promise.all([
      startUpstream('b-base-1', undefined),
      startUpstream('b-base-2', undefined),
      startUpstream('b-gray-1', 'gray'),
      startUpstream('b-gray-2', 'gray'),
    ]);
    list(router, 'b', upstreams); // the killed ones stay listed, as until a registry notices
    const answers: Array<{ lane: string | undefined; answer: Answer }> = [];
    let sent = 0;
    const TOTAL = 600;
    const killed = (async () => {
      while (sent < 150) await sleep(5);
      await Promise.all([kill(upstreams[0]!), kill(upstreams[2]!)]);
    })();
    await Promise.all(
      Array.from({ length: 8 }, async (_, client) => {
        while (sent < TOTAL) {
          const lane = (sent++ + client) % 2 === 0 ? 'gray' : undefined;
          answers.push({ lane, answer: await call(url, lane) });
        }
      }),
    );
    await killed;
    expect(answers).toHaveLength(TOTAL);
    expect(tally(answers)).toEqual({ failed: [], wrongLane: [] });
    // After the kill, only the survivors answered.
    expect(new Set(answers.slice(-100).map((a) => a.answer.body.name))).toEqual(new Set(['b-base-2', 'b-gray-2']));
  }, 30_000);

  test('the only B killed: the first failure is the typed GRAYLANE_ERR_NO_INSTANCE with the service and lane', async () => {
    const only = await startUpstream('b-base', undefined);
    list(router, 'b', [only]);
    expect((await call(url, 'gray')).status).toBe(200);
    await kill(only);
    // The registry still lists the dead instance: every request, the first one included, is typed.
    for (let i = 0; i < 5; i++) {
      const { status, body } = await call(url, i % 2 === 0 ? 'gray' : undefined);
      expect({ status, code: body.error?.code, service: body.error?.service, lane: body.error?.lane }).toEqual({
        status: 503,
        code: ErrorCode.NO_INSTANCE,
        service: 'b',
        lane: i % 2 === 0 ? 'gray' : 'base',
      });
    }
  });
});
