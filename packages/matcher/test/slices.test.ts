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

  it('lets the event loop run while it compiles a large set: a turn at least every 256 rules', async () => {
    const { rules } = parseRules(text(3000));
    // Counted in turns, not in ms (the ms are the bench's): with sliceMs 0 every step ends its
    // turn, and a step compiles one new rule or looks up at most 256 kept ones.
    let turns = 0;
    let counting = true;
    const count = () => {
      turns++;
      if (counting) setImmediate(count);
    };
    setImmediate(count);
    try {
      await compileMatcherInSlices(rules, {}, { sliceMs: 0 });
    } finally {
      counting = false;
    }
    // Every rule here is new, so each of the 6,000 is a step, and a turn, of its own.
    expect(turns).toBeGreaterThanOrEqual(2 * 3000);
  });

  it('stops at the next slice when aborted', async () => {
    const { rules } = parseRules(text(3000));
    const controller = new AbortController();
    const pending = compileMatcherInSlices(rules, {}, { signal: controller.signal, sliceMs: 1 });
    controller.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
  });
});
