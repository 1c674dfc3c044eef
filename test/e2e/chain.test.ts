/**
 * The walking skeleton, end to end: the seed scenario as real processes on real sockets, once on the
 * embedded file registry and on each real Nacos server (r-nacos and the Java Nacos server, started
 * by the global setup).
 */
import { addressOf, get, hops, startDemo } from './demo';
import type { Demo } from './demo';

const nacosAddr = process.env['GRAYLANE_TEST_NACOS_ADDR'];
if (!nacosAddr) throw new Error('GRAYLANE_TEST_NACOS_ADDR is not set: the global setup did not start r-nacos');
const javaNacosAddr = process.env['GRAYLANE_TEST_JAVA_NACOS_ADDR'];
if (!javaNacosAddr) throw new Error('GRAYLANE_TEST_JAVA_NACOS_ADDR is not set: the global setup did not start the Java Nacos server');

const registries: Array<[string, NodeJS.ProcessEnv]> = [
  ['the embedded file registry', { ...process.env, NACOS_SERVER_ADDR: '' }],
  ['a real Nacos (r-nacos)', { ...process.env, NACOS_SERVER_ADDR: nacosAddr }],
  ['the Java Nacos server', { ...process.env, NACOS_SERVER_ADDR: javaNacosAddr }],
];

describe.each(registries)('A -> B -> C on %s', (_name, env) => {
  let demo: Demo;

  beforeAll(async () => {
    demo = await startDemo(env);
    // As a readiness probe would: on the Java Nacos server, a subscription's first answer can still
    // miss an instance registered a moment before (it answers from a view its ~0.5 s push delay
    // updates), so the gateway's first list of A may be empty until the push arrives.
    const deadline = Date.now() + 5_000;
    while ((await get(demo, '/a')).status !== 200 && Date.now() < deadline) await sleep(100);
  }, 60_000);

  afterAll(async () => {
    await demo?.close();
  });

  test('an unmarked request runs A[base] -> B[base] -> C[base]', async () => {
    const { status, body } = await get(demo, '/a');
    expect({ status, body: status === 200 ? '' : body }).toEqual({ status: 200, body: '' });
    expect(hops(body)).toEqual([
      ['A', 'base', addressOf(demo, 'a-base')],
      ['B', 'base', addressOf(demo, 'b-base')],
      ['C', 'base', addressOf(demo, 'c-base')],
    ]);
  });

  const grayCarriers: Array<[string, string, Record<string, string>]> = [
    ['the MSE seed rule ?group=gray', '/a?group=gray', {}],
    ['the APISIX seed rule ?env=gray', '/a?env=gray', {}],
    ['the header x-mse-tag: gray', '/a', { 'x-mse-tag': 'gray' }],
    ['the W3C baggage lane=gray', '/a', { baggage: 'lane=gray' }],
  ];

  test.each(grayCarriers)('a request marked by %s runs A[gray] -> B[base] -> C[gray]', async (_carrier, path, headers) => {
    const { status, body } = await get(demo, path, headers);
    expect(status).toBe(200);
    expect(hops(body)).toEqual([
      ['A', 'gray', addressOf(demo, 'a-gray')],
      ['B', 'base', addressOf(demo, 'b-base')],
      ['C', 'gray', addressOf(demo, 'c-gray')],
    ]);
  });

  test('Accept: application/json answers the hops as JSON', async () => {
    const response = await fetch(`${demo.url}/a?group=gray`, { headers: { accept: 'application/json' } });
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual([
      { service: 'A', lane: 'gray', address: addressOf(demo, 'a-gray') },
      { service: 'B', lane: 'base', address: addressOf(demo, 'b-base') },
      { service: 'C', lane: 'gray', address: addressOf(demo, 'c-gray') },
    ]);
  });

  test('unmarked traffic never reaches a gray instance', async () => {
    const lanes = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const { status, body } = await get(demo, i % 2 ? '/a?group=blue' : '/a');
      expect(status).toBe(200);
      for (const [, lane] of hops(body)) lanes.add(lane);
    }
    expect([...lanes]).toEqual(['base']);
  });

  test('C-gray stops: gray traffic falls back to C base within 2 s, A-gray still used; C-gray returns', async () => {
    const stoppedAt = Date.now();
    const stopping = demo.stop('c-gray', 'SIGTERM');
    let fellBackAfter: number | undefined;
    while (Date.now() - stoppedAt < 5_000) {
      const { status, body } = await get(demo, '/a?group=gray');
      expect(status).toBe(200); // no request fails while the lane drains
      const chain = hops(body);
      expect(chain[0]).toEqual(['A', 'gray', addressOf(demo, 'a-gray')]);
      if (chain[2]![1] === 'base') {
        expect(chain[2]).toEqual(['C', 'base', addressOf(demo, 'c-base')]);
        fellBackAfter = Date.now() - stoppedAt;
        break;
      }
      await sleep(25);
    }
    await stopping;
    console.log(`fallback: gray traffic reached C[base] ${fellBackAfter} ms after C-gray got SIGTERM (${_name})`);
    expect(fellBackAfter).toBeDefined();
    expect(fellBackAfter!).toBeLessThan(2_000);

    const restarted = await demo.start('c-gray');
    const startedAt = Date.now();
    let returnedAfter: number | undefined;
    while (Date.now() - startedAt < 5_000) {
      const { status, body } = await get(demo, '/a?group=gray');
      expect(status).toBe(200);
      if (hops(body)[2]![2] === restarted.address) {
        returnedAfter = Date.now() - startedAt;
        break;
      }
      await sleep(25);
    }
    expect(returnedAfter).toBeDefined();
    expect(hops((await get(demo, '/a?group=gray')).body)).toEqual([
      ['A', 'gray', addressOf(demo, 'a-gray')],
      ['B', 'base', addressOf(demo, 'b-base')],
      ['C', 'gray', restarted.address],
    ]);
  }, 30_000);
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
