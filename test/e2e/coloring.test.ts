/**
 * Coloring at gray nodes (#17), on the demo's real processes and loopback sockets (the embedded
 * file registry): a request with no lane sent straight to A's gray instance, past the gateway, is
 * colored with A's lane there and reaches C's gray instance; the trail marks the hop where it was
 * colored (`a[gray*]`). With coloring off (GRAYLANE_COLORING=off in every process) it stays in base
 * after A.
 */
import { TRAIL_HEADER } from '@graylane/context';
import { parseTrail } from '@graylane/conformance';
import { addressOf, hops, startDemo } from './demo';
import type { Demo } from './demo';

/** GET `/a` straight on A's gray instance, with no lane carrier. */
async function straightToGrayA(demo: Demo, headers: Record<string, string> = {}): Promise<{ status: number; body: string; trail: string | null }> {
  const response = await fetch(`http://${addressOf(demo, 'a-gray')}/a`, { headers });
  return { status: response.status, body: await response.text(), trail: response.headers.get(TRAIL_HEADER) };
}

describe.each([
  ['on (the default)', {}, 'gray'],
  ['off (GRAYLANE_COLORING=off)', { GRAYLANE_COLORING: 'off' }, 'base'],
] as const)('coloring %s', (_name, extraEnv, cLane) => {
  let demo: Demo;

  beforeAll(async () => {
    demo = await startDemo({ ...process.env, NACOS_SERVER_ADDR: '', ...extraEnv });
  }, 60_000);

  afterAll(async () => {
    await demo?.close();
  });

  test(`an unmarked request sent straight to A[gray] reaches C[${cLane}]`, async () => {
    const { status, body, trail } = await straightToGrayA(demo);
    expect({ status, body: status === 200 ? '' : body }).toEqual({ status: 200, body: '' });
    expect(hops(body)).toEqual([
      ['A', 'gray', addressOf(demo, 'a-gray')],
      ['B', 'base', addressOf(demo, 'b-base')],
      ['C', cLane, addressOf(demo, `c-${cLane}`)],
    ]);
    expect(trail).not.toBeNull();
    expect(parseTrail(trail!).map((hop) => [hop.service, hop.lane, hop.colored])).toEqual([
      ['a', 'gray', cLane === 'gray'],
      ['b', 'base', false],
      ['c', cLane, false],
    ]);
  });

  test('a request that carries a lane keeps it at A[gray]: not colored', async () => {
    const { status, trail } = await straightToGrayA(demo, { 'x-mse-tag': 'blue' });
    expect(status).toBe(200);
    // blue has no instance anywhere: every hop after A falls back to base; A itself did not color.
    expect(parseTrail(trail!).map((hop) => [hop.service, hop.lane, hop.colored])).toEqual([
      ['a', 'gray', false],
      ['b', 'base', false],
      ['c', 'base', false],
    ]);
  });

  test('unmarked traffic through the gateway still never reaches a gray instance', async () => {
    for (let i = 0; i < 10; i++) {
      const response = await fetch(`${demo.url}/a`);
      expect(response.status).toBe(200);
      expect(new Set(hops(await response.text()).map(([, lane]) => lane))).toEqual(new Set(['base']));
    }
  });
});
