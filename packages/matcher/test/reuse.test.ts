import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { parseRules, validateRules } from '@graylane/rules';
import type { LaneRuleSet } from '@graylane/rules';
import { RegexTable } from '../src/compile/regex.js';
import { compileWith } from '../src/matcher.js';
import { compileMatcher, compileMatcherInSlices, requestView } from '../src/index.js';
import type { LaneMatcher, RequestView } from '../src/index.js';

function validated(input: unknown): LaneRuleSet {
  const result = validateRules(input);
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.rules;
}

const text = (n: number, suffix = '') =>
  `lanes:\n${Array.from({ length: n }, (_, i) => `  - tag: lane-${i}\n    match:\n      - { type: header, name: x-env, operator: regex, value: '^e${i}${suffix}-[a-z]+$' }`).join('\n')}\n`;

describe('RegexTable', () => {
  it('compiles a pattern once per compile, takes the replaced matcher\'s copy, and keeps only its own patterns', () => {
    const old = new RegexTable();
    const a = old.get('^a+$');
    expect(old.get('^a+$')).toBe(a);
    old.get('^b$');
    const next = new RegexTable(old.compiled);
    expect(next.get('^a+$')).toBe(a);
    expect(typeof next.get('^c$')).toBe('object');
    expect([...next.compiled.keys()]).toEqual(['^a+$', '^c$']);
  });

  it('keeps a refusal as a refusal', () => {
    const table = new RegexTable();
    expect(typeof table.get('(a)\\1')).toBe('string');
    expect(typeof new RegexTable(table.compiled).get('(a)\\1')).toBe('string');
  });
});

describe('compiling with `previous`', () => {
  it('decides exactly as a fresh compile of the new rules, for patterns kept, changed and dropped', async () => {
    const before = compileMatcher(parseRules(text(50)).rules);
    // Lanes 0-24 keep their pattern, 25-34 change it (`^e<i>x-`), 35-49 are gone.
    const changed = `${text(25)}${text(35, 'x').split('\n').slice(1 + 25 * 3).join('\n')}`;
    const rules = parseRules(changed).rules;
    expect(rules.lanes).toHaveLength(35);
    const fresh = compileMatcher(rules);
    const reused = compileMatcher(rules, { previous: before });
    const sliced = await compileMatcherInSlices(rules, { previous: reused });
    for (let i = 0; i < 40; i++) {
      for (const value of [`e${i}-abc`, `e${i}x-abc`, `e${i}-1`]) {
        const req = requestView({ headers: { 'x-env': value } });
        expect(reused.match(req)).toBe(fresh.match(req));
        expect(sliced.match(req)).toBe(fresh.match(req));
      }
    }
    expect(reused.match(requestView({ headers: { 'x-env': 'e30x-q' } }))).toBe('lane-30');
    expect(reused.match(requestView({ headers: { 'x-env': 'e30-q' } }))).toBeUndefined();
  });
});

describe('what a replaced matcher leaves alive', () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  /**
   * Whether each of `refs` is collected once nothing but the weak references holds it: collections
   * 10 ms apart, up to 20 of them. A WeakRef's target stays alive until the job that made it ends,
   * a collection asked for during an incremental marking may only finish it, and under load the
   * matcher a sliced compile replaced was seen alive after the first collection, gone at the next:
   * what the test looks for is one that never goes.
   */
  const collected = async (refs: readonly WeakRef<object>[]): Promise<boolean[]> => {
    let gone = refs.map(() => false);
    for (let i = 0; i < 20 && gone.includes(false); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      gc();
      gone = refs.map((ref) => ref.deref() === undefined);
    }
    return gone;
  };
  // Keyed lanes (the index serves past one generated function's reach) and few (one is generated).
  const keyed = (n: number, version: number) =>
    parseRules(
      `lanes:\n${Array.from({ length: n }, (_, i) => `  - tag: lane-${i}\n    match:\n      - { type: header, name: x-user, operator: '==', value: 'u${i}-v${version}' }\n      - { type: header, name: x-env, operator: regex, value: '^e${i}-v${version}$' }`).join('\n')}\n`,
    ).rules;
  const evaluators: [string, (rules: LaneRuleSet, previous: LaneMatcher | undefined) => Promise<LaneMatcher>][] = [
    ['generated', async (rules, previous) => compileMatcher(rules, { previous })],
    ['indexed', async (rules, previous) => compileWith(rules, { previous }, false).matcher],
    ['scanning', async (rules, previous) => compileWith(rules, { previous }, false, false).matcher],
    ['compiled in slices', (rules, previous) => compileMatcherInSlices(rules, { previous })],
  ];

  it.each(evaluators)('%s: a matcher does not keep the ones it replaced alive', async (name, compile) => {
    const lanes = name === 'generated' ? 5 : 100;
    const refs: WeakRef<LaneMatcher>[] = [];
    let current: LaneMatcher | undefined;
    // Every reload replaces every lane (new values and patterns); the odd ones keep their lane objects.
    let rules = keyed(lanes, 0);
    for (let version = 0; version < 6; version++) {
      if (version % 2 === 0) rules = keyed(lanes, version);
      current = await compile(rules, current);
      refs.push(new WeakRef(current));
    }
    const held = current!;
    const version = 4; // the last compile's rules: the lane objects of version 4, kept
    expect(held.match(requestView({ headers: { 'x-user': `u3-v${version}` } }))).toBe('lane-3');
    expect(held.match(requestView({ headers: { 'x-env': `e${lanes - 1}-v${version}` } }))).toBe(`lane-${lanes - 1}`);
    current = undefined;
    expect(await collected(refs.slice(0, -1))).toEqual(refs.slice(0, -1).map(() => true));
    expect(refs.at(-1)!.deref()).toBe(held);
  });
});

describe('keeping the tests of lanes kept by identity', () => {
  const lane = (i: number, suffix = '') => ({
    tag: `lane-${i}`,
    percentage: { value: 50, key: { type: 'header', name: 'x-user' } },
    match: [
      { type: 'header', name: 'x-env', operator: 'regex', value: `^e${i}${suffix}-[a-z]+$` },
      // Shared by every lane: memoised in one result slot.
      { all: [{ type: 'query', name: 'g', operator: '==', value: 'gray' }, { type: 'header', name: `x-${i}${suffix}`, operator: 'exists' }] },
    ],
  });
  const set = (lanes: unknown[]) => validated({ lanes });
  const requests = Array.from({ length: 60 }, (_, i) =>
    requestView({ headers: { 'x-env': `e${i % 30}${i % 2 ? 'x' : ''}-q`, 'x-user': `u${i}`, [`x-${i % 30}`]: '1', [`x-${i % 30}x`]: '1' }, query: i % 3 ? { g: 'gray' } : {} }),
  );
  const same = (a: LaneMatcher, b: LaneMatcher) => {
    for (const req of requests) {
      expect(a.match(req)).toBe(b.match(req));
      expect(a.explain(req)).toEqual(b.explain(req));
    }
  };

  it('a reload keeps the tests of every rule of an unchanged lane object, compiles the others, and decides as a fresh compile', async () => {
    const first = set(Array.from({ length: 30 }, (_, i) => lane(i)));
    const before = compileWith(first, {}, false);
    expect(before.kept).toBe(0);
    // Lanes 0-9 change (new objects), 10-29 are the same objects, reversed; one lane is new.
    const lanes = [...first.lanes.slice(10).reverse(), ...set(Array.from({ length: 10 }, (_, i) => lane(i, 'x'))).lanes, set([lane(99)]).lanes[0]!];
    const second: LaneRuleSet = { ...first, lanes };
    const reused = compileWith(second, { previous: before.matcher }, false);
    expect(reused.kept).toBe(40); // 20 lanes of two rules
    same(reused.matcher, compileMatcher(second));
    same(await compileMatcherInSlices(second, { previous: before.matcher }), compileMatcher(second));
    // And again from the reloaded one: what it kept, it passes on.
    const third: LaneRuleSet = { ...second, lanes: second.lanes.slice(1) };
    const again = compileWith(third, { previous: reused.matcher }, false);
    expect(again.kept).toBe(third.lanes.length * 2);
    same(again.matcher, compileMatcher(third));
  });

  it('keeps nothing when the attributes or the randomness differ: the tests were compiled with them', () => {
    const attributes = { tenant: (req: RequestView) => req.header('x-user') };
    const rules = set([{ tag: 'a', match: [{ type: 'attribute', name: 'tenant', operator: '==', value: 'u1' }] }]);
    const before = compileWith(rules, { attributes }, false).matcher;
    expect(compileWith(rules, { attributes, previous: before }, false).kept).toBe(1);
    const other = { tenant: (req: RequestView) => req.header('x-other') };
    const changed = compileWith(rules, { attributes: other, previous: before }, false);
    expect(changed.kept).toBe(0);
    expect(changed.matcher.match(requestView({ headers: { 'x-other': 'u1' } }))).toBe('a');
    expect(compileWith(rules, { attributes, random: () => 0.5, previous: before }, false).kept).toBe(0);
  });

  it('starts afresh once a lineage of reloads has added more slots than it started with (twice, plus 256), and decides right throughout', () => {
    const fieldLane = (i: number) => ({ tag: `f-${i}`, match: [{ type: 'header', name: `x-f${i}`, operator: '==', value: '1' }] });
    const base = set([fieldLane(0)]);
    let previous = compileWith(base, {}, false).matcher;
    const keptAt: number[] = [];
    let lanes = base.lanes;
    for (let i = 1; i <= 300; i++) {
      lanes = [...lanes, set([fieldLane(i)]).lanes[0]!].slice(-3); // three lanes in force, a new field each time
      const next = compileWith({ ...base, lanes }, { previous }, false);
      keptAt.push(next.kept);
      expect(next.matcher.match(requestView({ headers: { [`x-f${i}`]: '1' } }))).toBe(`f-${i}`);
      previous = next.matcher;
    }
    // One slot at the fresh start, one more each reload: reload i replaces a matcher of i slots, and
    // the lineage goes on while those are at most 2 * 1 + 256.
    const fresh = keptAt.flatMap((kept, i) => (kept === 0 ? [i + 1] : []));
    expect(fresh).toEqual([259]);
  });
});

describe('keeping tests: a property', () => {
  it('a reload from any rule set to any other, with any of its lane objects kept, decides as a fresh compile', () => {
    const values = fc.constantFrom('1', '2', 'gray', '');
    const names = fc.constantFrom('a', 'b');
    const predicate = fc.oneof(
      fc.tuple(fc.constantFrom('header', 'query'), names, fc.constantFrom('==', '!=', 'prefix'), values).map(([type, name, operator, value]) => ({ type, name, operator, value })),
      fc.tuple(fc.constantFrom('header', 'query'), names, fc.constantFrom('^g', '[0-9]$')).map(([type, name, value]) => ({ type, name, operator: 'regex', value })),
      fc.tuple(names, fc.integer({ min: 0, max: 100 })).map(([name, percentage]) => ({ type: 'header', name, operator: 'sticky', percentage })),
    );
    const condition = fc.oneof(predicate, fc.record({ all: fc.array(predicate, { minLength: 1, maxLength: 3 }) }), fc.record({ any: fc.array(predicate, { minLength: 1, maxLength: 3 }) }));
    const laneArb = fc.record(
      {
        tag: fc.constantFrom('gray', 'blue', 'green', 'red', 'base'),
        match: fc.array(condition, { maxLength: 3 }),
        percentage: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.record({ value: fc.integer({ min: 0, max: 100 }), key: fc.record({ type: fc.constant('header'), name: names }) })),
        priority: fc.integer({ min: 0, max: 3 }),
      },
      { requiredKeys: ['tag', 'match'] },
    );
    const laneSet = fc.uniqueArray(laneArb, { selector: (l) => l.tag, maxLength: 5 });
    const pool = fc.dictionary(names, values, { maxKeys: 2 });
    const request = fc.record({ headers: pool, query: pool, draw: fc.integer({ min: 0, max: 99 }) });
    fc.assert(
      fc.property(laneSet, laneSet, fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }), fc.array(request, { minLength: 1, maxLength: 8 }), (a, b, pickA, reqs) => {
        let draw = 0;
        const options = { random: () => draw / 100 + 0.001 };
        const first = validated({ lanes: a });
        const other = validated({ lanes: b });
        const tags = [...new Set([...first.lanes, ...other.lanes].map((l) => l.tag))];
        const lanes = tags.flatMap((tag, i) => {
          const fromA = first.lanes.find((l) => l.tag === tag);
          const fromB = other.lanes.find((l) => l.tag === tag);
          const chosen = pickA[i % 5] ? (fromA ?? fromB) : (fromB ?? fromA);
          return chosen ? [chosen] : [];
        });
        const second: LaneRuleSet = { ...first, lanes };
        const before = compileWith(first, options, false).matcher;
        const reused = compileWith(second, { ...options, previous: before }, false).matcher;
        const fresh = compileWith(second, options, false).matcher;
        // Both on the candidate index (where some rule has a key), and the same as a scan of every rule.
        const scan = compileWith(second, options, false, false).matcher;
        for (const r of reqs) {
          draw = r.draw;
          const view = () => requestView({ headers: r.headers, query: r.query });
          expect(reused.match(view())).toBe(fresh.match(view()));
          expect(fresh.match(view())).toBe(scan.match(view()));
          expect(reused.explain(view())).toEqual(fresh.explain(view()));
        }
      }),
      { numRuns: 300 },
    );
  });
});
