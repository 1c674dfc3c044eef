/**
 * A chain mixing every adapter, as real processes registered in a real Nacos (r-nacos):
 *
 *   m1 (Express + axios) -> m2 (Nest/Express + fetch) -> m3 (node:http + LaneAgent) -> m4 (Express)
 *
 * m2 and m4 run base and gray instances, m1 and m3 base only, so a gray request must go
 * m1[base] -> m2[gray] -> m3[base] -> m4[gray]: the lane crosses a base hop of each kind. Every
 * process runs with the debug trail on. The fixtures use the built packages.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { MSE_BAGGAGE_KEY, TRAIL_HEADER } from '@graylane/context';

const nacosAddr = process.env['GRAYLANE_TEST_NACOS_ADDR'];
if (!nacosAddr) throw new Error('GRAYLANE_TEST_NACOS_ADDR is not set: the global setup did not start r-nacos');

interface Hop {
  service: string;
  lane: string;
}

/** Service names unique to this run: the demo suites register a, b and c in the same Nacos. */
const prefix = `mixed${process.pid}x${Date.now().toString(36)}`;
const m = (n: number) => `${prefix}-m${n}`;

/** The processes, started callee first so each caller finds its callee's instances at start. */
const TOPOLOGY = [
  { fixture: 'm4-express-leaf', service: m(4), next: '', lanes: ['base', 'gray'] },
  { fixture: 'm3-node-http', service: m(3), next: m(4), lanes: ['base'] },
  { fixture: 'm2-nest-fetch', service: m(2), next: m(3), lanes: ['base', 'gray'] },
  { fixture: 'm1-express-axios', service: m(1), next: m(2), lanes: ['base'] },
] as const;

const ALL_BASE: Hop[] = [1, 2, 3, 4].map((n) => ({ service: m(n), lane: 'base' }));
const GRAY: Hop[] = [
  { service: m(1), lane: 'base' },
  { service: m(2), lane: 'gray' },
  { service: m(3), lane: 'base' },
  { service: m(4), lane: 'gray' },
];

describe('a mixed-adapter chain on a real Nacos (r-nacos)', () => {
  const children: ChildProcess[] = [];
  let entry: string;

  async function start(fixture: string, service: string, next: string, lane: string): Promise<number> {
    const child = fork(join(__dirname, 'fixtures', 'mixed', `${fixture}.cjs`), [], {
      env: { ...process.env, NACOS_SERVER_ADDR: nacosAddr, SERVICE: service, NEXT: next, GRAYLANE_LANE: lane },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(child);
    return new Promise<number>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`${fixture} (${service}[${lane}]) exited with ${code}`)));
      child.on('message', (message: { ready?: boolean; port?: number }) => {
        if (message.ready) {
          child.removeAllListeners('exit');
          resolve(message.port!);
        }
      });
    });
  }

  async function call(headers: Record<string, string> = {}): Promise<{ hops: Hop[]; trail: string | null }> {
    const res = await fetch(`${entry}/hop`, { headers });
    const body = (await res.json()) as { hops: Hop[] };
    if (res.status !== 200) throw new Error(`m1 answered ${res.status}: ${JSON.stringify(body)}`);
    return { hops: body.hops, trail: res.headers.get(TRAIL_HEADER) };
  }

  beforeAll(async () => {
    let port = 0;
    for (const { fixture, service, next, lanes } of TOPOLOGY) {
      for (const lane of lanes) port = await start(fixture, service, next, lane);
    }
    entry = `http://127.0.0.1:${port}`;
    // Nacos pushes instance lists asynchronously: wait until every gray instance is routed to.
    const deadline = Date.now() + 20_000;
    while (JSON.stringify((await call({ 'x-mse-tag': 'gray' })).hops) !== JSON.stringify(GRAY)) {
      if (Date.now() > deadline) throw new Error('the gray instances were never routed to');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }, 90_000);

  afterAll(async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
            child.once('exit', () => {
              clearTimeout(killer);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
  }, 30_000);

  it('keeps an unmarked request on base, all the way', async () => {
    expect((await call()).hops).toEqual(ALL_BASE);
  });

  it('takes x-mse-tag: gray to the gray instances, across base hops of every kind', async () => {
    expect((await call({ 'x-mse-tag': 'gray' })).hops).toEqual(GRAY);
  });

  it('does the same with the lane in W3C baggage only', async () => {
    expect((await call({ baggage: `${MSE_BAGGAGE_KEY}=gray` })).hops).toEqual(GRAY);
  });

  it('keeps 200 concurrent requests of both lanes apart', async () => {
    const lanes = Array.from({ length: 200 }, (_, i) => (i % 3 === 0 ? undefined : 'gray'));
    const results = await Promise.all(lanes.map((lane) => call(lane ? { 'x-mse-tag': lane } : {})));
    results.forEach(({ hops }, i) => expect(hops).toEqual(lanes[i] ? GRAY : ALL_BASE));
  });

  it('answers at m1 with the trail of all four hops and the lanes they served', async () => {
    const { trail } = await call({ 'x-mse-tag': 'gray' });
    const at = '@127\\.0\\.0\\.1:\\d+';
    expect(trail).toMatch(new RegExp(`^${m(1)}\\[base\\]${at} > ${m(2)}\\[gray\\]${at} > ${m(3)}\\[base\\]${at} > ${m(4)}\\[gray\\]${at}$`));
  });
});
