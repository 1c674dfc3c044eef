import { parseRules } from '@graylane/rules';
import { compileMatcher, compileMatcherInSlices, requestView } from '../src/index.js';

const text = (n: number) =>
  `lanes:\n${Array.from({ length: n }, (_, i) => `  - tag: lane-${i}\n    match:\n      - { type: header, name: x-user, operator: '==', value: 'u${i}' }\n      - { type: header, name: x-env, operator: regex, value: '^e${i}-[a-z]+$' }`).join('\n')}\n`;

describe('compileMatcherInSlices', () => {
  it('decides as compileMatcher does (small set: generated code; large set: closures)', async () => {
    for (const n of [5, 2000]) {
      const { rules } = parseRules(text(n));
      const sync = compileMatcher(rules);
      const sliced = await compileMatcherInSlices(rules);
      for (const i of [0, 1, n - 1, n, n + 7]) {
        for (const headers of [{ 'x-user': `u${i}` }, { 'x-env': `e${i}-abc` }, { 'x-env': `e${i}-1` }]) {
          expect(sliced.match(requestView({ headers }))).toBe(sync.match(requestView({ headers })));
        }
      }
      expect(sliced.match(requestView({ headers: { 'x-user': `u${n - 1}` } }))).toBe(`lane-${n - 1}`);
    }
  });

  it('lets the event loop run while it compiles a large set (loosely bounded; the figure is in the bench)', async () => {
    const { rules } = parseRules(text(3000));
    let ticks = 0;
    let longest = 0;
    let last = performance.now();
    const probe = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
      ticks++;
    }, 1);
    try {
      last = performance.now();
      await compileMatcherInSlices(rules, {}, { sliceMs: 4 });
    } finally {
      clearInterval(probe);
    }
    expect(ticks).toBeGreaterThan(3);
    // A one-piece compile of 3,000 lanes holds the loop for hundreds of ms; sliced, far less even on a loaded machine.
    expect(longest).toBeLessThan(250);
  });

  it('stops at the next slice when aborted', async () => {
    const { rules } = parseRules(text(3000));
    const controller = new AbortController();
    const pending = compileMatcherInSlices(rules, {}, { signal: controller.signal, sliceMs: 1 });
    controller.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
  });
});
