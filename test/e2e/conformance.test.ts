/**
 * @graylane/conformance against the demo chain as real processes (file registry): the seed lane
 * passes; with C's gray instance gone, or a wrong expectation, verification fails naming the hop.
 */
import { verifyLane } from '@graylane/conformance';
import { get, startDemo } from './demo';
import type { Demo } from './demo';

describe('verifyLane on the demo chain', () => {
  let demo: Demo;
  beforeAll(async () => {
    demo = await startDemo({ ...process.env, NACOS_SERVER_ADDR: '' });
    const deadline = Date.now() + 5_000;
    while ((await get(demo, '/a')).status !== 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  }, 60_000);
  afterAll(async () => {
    await demo?.close();
  });

  test('the gray lane passes: A-gray -> B(base) -> C-gray, and unmarked traffic stays on base', async () => {
    const result = await verifyLane({ lane: 'gray', entry: demo.url, path: '/a?group=gray', laneServices: ['a', 'c'], expectServices: ['a', 'b', 'c'] });
    expect(result.marked.problems).toEqual([]);
    expect(result.unmarked.problems).toEqual([]);
    expect(result.passed).toBe(true);
    expect(result.marked.hops.map((hop) => `${hop.service}[${hop.lane}]`)).toEqual(['gateway[base]', 'a[gray]', 'b[base]', 'c[gray]']);
    expect(result.unmarked.hops.map((hop) => hop.lane)).toEqual(['base', 'base', 'base', 'base']);
  });

  test('the lane identifier in a header works the same', async () => {
    const result = await verifyLane({ lane: 'gray', entry: demo.url, path: '/a', headers: { 'x-mse-tag': 'gray' }, laneServices: ['a', 'c'] });
    expect(result.passed).toBe(true);
  });

  test('a hop that serves the wrong lane fails verification', async () => {
    // The pipeline believes b was deployed to gray; b's hop serves base: fail.
    const wrong = await verifyLane({ lane: 'gray', entry: demo.url, path: '/a?group=gray', laneServices: ['a', 'b', 'c'] });
    expect(wrong.passed).toBe(false);
    expect(wrong.marked.problems).toEqual([expect.stringMatching(/^b@127\.0\.0\.1:\d+ served base, expected gray$/)]);

    // C's gray instance goes away: c falls back to base, where gray was expected.
    await demo.stop('c-gray');
    try {
      const deadline = Date.now() + 3_000;
      let result = await verifyLane({ lane: 'gray', entry: demo.url, path: '/a?group=gray', laneServices: ['a', 'c'] });
      while (result.passed && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        result = await verifyLane({ lane: 'gray', entry: demo.url, path: '/a?group=gray', laneServices: ['a', 'c'] });
      }
      expect(result.passed).toBe(false);
      expect(result.marked.problems).toEqual([expect.stringMatching(/^c@.* served base, expected gray$/)]);
    } finally {
      await demo.start('c-gray');
    }
  }, 30_000);
});
