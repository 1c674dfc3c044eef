import fc from 'fast-check';
import { validateRules } from '@graylane/rules';
import type { LaneRuleSet } from '@graylane/rules';
import { compileWith } from '../src/matcher.js';
import { MAX_GENERATED_SOURCE } from '../src/compile/codegen.js';
import { compileMatcher, requestView } from '../src/index.js';
import type { RequestView } from '../src/index.js';

function rules(input: unknown): LaneRuleSet {
  const result = validateRules(input);
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.rules;
}

// Small pools, so that rules and requests meet often (as in property.test.ts).
const names = fc.constantFrom('a', 'b', 'x-user');
const values = fc.constantFrom('1', '2', '10', '1.0', 'gray', 'gr', '-3', '', 'a b');
const field = fc.constantFrom('header', 'query', 'cookie', 'path', 'method', 'host', 'attribute').chain((type) =>
  ['path', 'method', 'host'].includes(type) ? fc.constant({ type }) : type === 'attribute' ? fc.constant({ type, name: 'tenant' }) : names.map((name) => ({ type, name })),
);
const predicate = fc.oneof(
  fc.tuple(field, fc.constantFrom('==', '!=', '>', '<', '>=', '<='), values).map(([f, operator, value]) => ({ ...f, operator, value })),
  fc.tuple(field, fc.constantFrom('in', 'not in'), fc.array(values, { minLength: 1, maxLength: 4 })).map(([f, operator, vs]) => ({ ...f, operator, values: vs })),
  fc.tuple(field, fc.constantFrom('prefix', 'suffix', 'contains'), values).map(([f, operator, value]) => ({ ...f, operator, value })),
  fc.tuple(field, fc.constantFrom('^g', '[0-9]$', '^-?\\d+$')).map(([f, value]) => ({ ...f, operator: 'regex', value })),
  fc.tuple(field, fc.constantFrom('exists', 'not exists')).map(([f, operator]) => ({ ...f, operator })),
  fc.tuple(field, fc.integer({ min: 1, max: 5 }), fc.integer({ min: -2, max: 4 })).map(([f, divisor, remainder]) => ({ ...f, operator: 'modulo', divisor, remainder })),
  fc.tuple(field, fc.integer({ min: 0, max: 100 })).map(([f, percentage]) => ({ ...f, operator: 'sticky', percentage })),
  fc.integer({ min: 0, max: 100 }).map((percentage) => ({ operator: 'random', percentage })),
);
const condition: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, predicate, fc.record({ all: fc.array(tie('node'), { minLength: 1, maxLength: 3 }) }), fc.record({ any: fc.array(tie('node'), { minLength: 1, maxLength: 3 }) })),
})).node;
const lane = fc.record(
  {
    tag: fc.constantFrom('gray', 'blue', 'green', 'base'),
    match: fc.array(condition, { maxLength: 3 }),
    percentage: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.record({ value: fc.integer({ min: 0, max: 100 }), key: field })),
  },
  { requiredKeys: ['tag', 'match'] },
);
const pool = (keys: fc.Arbitrary<string>) => fc.dictionary(keys, values, { maxKeys: 3 });
const request = fc.record({
  headers: pool(names),
  query: pool(names),
  cookies: pool(names),
  path: values,
  method: fc.constantFrom('GET', 'post'),
  host: values,
  draw: fc.integer({ min: 0, max: 99 }),
});

describe('generated evaluator', () => {
  it('decides exactly as the compiled closures do', () => {
    fc.assert(
      fc.property(fc.uniqueArray(lane, { selector: (l) => l.tag, maxLength: 4 }), fc.array(request, { minLength: 1, maxLength: 6 }), (lanes, requests) => {
        const set = rules({ lanes });
        let draw = 0;
        const options = { random: () => draw / 100 + 0.001, attributes: { tenant: (req: RequestView) => req.header('x-user') } };
        const generated = compileWith(set, options, true);
        const closures = compileWith(set, options, false, false);
        const indexed = compileWith(set, options, false, true);
        expect(generated.source).toBeDefined();
        expect(closures.source).toBeUndefined();
        for (const req of requests) {
          draw = req.draw;
          const lane = closures.matcher.match(requestView(req));
          expect(generated.matcher.match(requestView(req))).toBe(lane);
          expect(indexed.matcher.match(requestView(req))).toBe(lane);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('never writes a rule value into the generated source', () => {
    const nasty = ['"); throw new Error("pwned"); ("', "'); process.exit(1); ('", '`${process.exit(1)}`', '*/ throw 1; /*', '\u2028throw 1', '\\', 'k0', 'f0 = 1'];
    const set = rules({
      lanes: nasty.map((value, i) => ({
        tag: `lane-${i}`,
        match: [
          {
            any: [
              { type: 'header', name: `x-${i}`, operator: '==', value },
              { type: 'query', name: value, operator: 'in', values: [value, `${value}!`, `${value}?`] },
              { type: 'cookie', name: value, operator: 'prefix', value },
            ],
          },
        ],
      })),
    });
    const { matcher, source } = compileWith(set, {}, true);
    expect(source).toBeDefined();
    for (const value of nasty.filter((v) => !/^(k0|f0 = 1)$/.test(v))) expect(source).not.toContain(value);
    // Apart from fixed fragments, the source holds only generated names and integers.
    const stripped = source!.replace(/\b[kfp]\d+\b/g, '').replace(/\b\d+\b/g, '');
    expect(stripped).toMatch(/^[a-zA-Z_\s"=(),.;:?!<>&|{}[\]+\-*]*$/);
    nasty.forEach((value, i) => {
      expect(matcher.match(requestView({ headers: { [`x-${i}`]: value } }))).toBe(`lane-${i}`);
      expect(matcher.match(requestView({ query: { [value]: `${value}?` } }))).toBe(`lane-${i}`);
      expect(matcher.match(requestView({ cookies: { [value]: `${value}tail` } }))).toBe(`lane-${i}`);
    });
    expect(matcher.match(requestView({ headers: { 'x-0': 'nothing' } }))).toBeUndefined();
  });

  it('falls back to the closures where code generation from strings is forbidden', () => {
    const set = rules({ lanes: [{ tag: 'gray', match: [{ type: 'header', name: 'x-env', operator: '==', value: 'gray' }] }] });
    const original = globalThis.Function;
    globalThis.Function = function forbidden() {
      throw new EvalError('Code generation from strings disallowed for this context');
    } as unknown as FunctionConstructor;
    let result: ReturnType<typeof compileWith>;
    try {
      result = compileWith(set, {}, true);
    } finally {
      globalThis.Function = original;
    }
    expect(result.source).toBeUndefined();
    expect(result.matcher.match(requestView({ headers: { 'x-env': 'gray' } }))).toBe('gray');
    expect(result.matcher.match(requestView({ headers: { 'x-env': 'prod' } }))).toBeUndefined();
  });
});

describe('candidate index', () => {
  /** Attributes `a0` … `a<n-1>`, each returning 'x' and recording its index in `calls` when read. */
  const countingAttributes = (n: number) => {
    const calls: number[] = [];
    const attributes = Object.fromEntries(Array.from({ length: n }, (_, i) => [`a${i}`, () => (calls.push(i), 'x')]));
    return { calls, attributes };
  };
  /** `n` lanes `lane-<i>`, each with the one rule `all` of `members(i)`. */
  const lanesOf = (n: number, members: (i: number) => unknown[]) =>
    rules({ lanes: Array.from({ length: n }, (_, i) => ({ tag: `lane-${i}`, match: [{ all: members(i) }] })) });

  it('decides as a scan of every rule, on rule sets of many lanes sharing fields and values', () => {
    const many = fc.array(fc.array(condition, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 40 });
    fc.assert(
      fc.property(many, fc.array(request, { minLength: 1, maxLength: 8 }), (matches, requests) => {
        const set = rules({ lanes: matches.map((match, i) => ({ tag: `lane-${i}`, match })) });
        let draw = 0;
        const options = { random: () => draw / 100 + 0.001, attributes: { tenant: (req: RequestView) => req.header('x-user') } };
        const closures = compileWith(set, options, false, false);
        const indexed = compileWith(set, options, false, true);
        for (const req of requests) {
          draw = req.draw;
          expect(indexed.matcher.match(requestView(req))).toBe(closures.matcher.match(requestView(req)));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('tries a request only against the rules its keyed fields allow', () => {
    // Each lane's attribute comes first in its AND, so a scan calls the attribute of every lane it
    // tries; the index tries only the lane keyed on the request's x-user.
    const n = 1000;
    const { calls, attributes } = countingAttributes(n);
    const set = lanesOf(n, (i) => [
      { type: 'attribute', name: `a${i}`, operator: '==', value: 'x' },
      { type: 'header', name: 'x-user', operator: '==', value: `u-${i}` },
    ]);
    const req = requestView({ headers: { 'x-user': `u-${n - 1}` } });
    expect(compileWith(set, { attributes }, false, false).matcher.match(req)).toBe(`lane-${n - 1}`);
    expect(calls).toHaveLength(n);
    calls.length = 0;
    expect(compileWith(set, { attributes }, false, true).matcher.match(req)).toBe(`lane-${n - 1}`);
    expect(calls).toEqual([n - 1]);
    calls.length = 0;
    expect(compileMatcher(set, { attributes }).match(requestView({ headers: { 'x-user': 'nobody' } }))).toBeUndefined();
    expect(calls).toEqual([]);
  });

  it('keys an `any` by every value of its one field, and tries in rule order across fields', () => {
    const set = rules({
      lanes: [
        { tag: 'early', priority: 1, match: [{ any: [{ type: 'header', name: 'h', operator: '==', value: 'a' }, { type: 'header', name: 'h', operator: 'in', values: ['b', 'b', 'c'] }] }] },
        { tag: 'mixed', priority: 2, match: [{ any: [{ type: 'header', name: 'h', operator: '==', value: 'd' }, { type: 'query', name: 'q', operator: '==', value: 'd' }] }] },
        { tag: 'late', priority: 3, match: [{ type: 'query', name: 'q', operator: 'in', values: ['d', 'e'] }, { type: 'header', name: 'h', operator: '==', value: 'c' }] },
      ],
    });
    const indexed = compileWith(set, {}, false, true).matcher;
    const decide = (headers: Record<string, string>, query: Record<string, string> = {}) => indexed.match(requestView({ headers, query }));
    expect(decide({ h: 'b' })).toBe('early');
    expect(decide({ h: 'c' }, { q: 'e' })).toBe('early');
    expect(decide({}, { q: 'd' })).toBe('mixed');
    expect(decide({ h: 'd' })).toBe('mixed');
    expect(decide({ h: 'x' }, { q: 'e' })).toBe('late');
    expect(decide({ h: 'x' }, { q: 'x' })).toBeUndefined();
  });

  it('keys a rule on the member fewest rules share, not on what every lane requires', () => {
    // Every lane requires x-env: prod first; keyed on it, a request would be tried against all of them.
    const n = 1000;
    const { calls, attributes } = countingAttributes(n);
    const set = lanesOf(n, (i) => [
      { type: 'header', name: 'x-env', operator: '==', value: 'prod' },
      { type: 'attribute', name: `a${i}`, operator: '==', value: 'x' },
      { type: 'query', name: 'group', operator: 'in', values: [`g${i}`, `h${i}`] },
    ]);
    const matcher = compileWith(set, { attributes }, false, true).matcher;
    expect(matcher.match(requestView({ headers: { 'x-env': 'prod' }, query: { group: `h${n - 1}` } }))).toBe(`lane-${n - 1}`);
    expect(calls).toEqual([n - 1]);
    expect(matcher.match(requestView({ headers: { 'x-env': 'prod' }, query: { group: 'g5' } }))).toBe('lane-5');
    expect(calls).toEqual([n - 1, 5]);
    expect(matcher.match(requestView({ headers: { 'x-env': 'test' }, query: { group: 'g5' } }))).toBeUndefined();
    expect(calls).toEqual([n - 1, 5]);
  });

  it('serves a rule set that fits one generated function, when it leaves a request a quarter of the rules at most', () => {
    const keyedLanes = (n: number) =>
      rules({ lanes: Array.from({ length: n }, (_, i) => ({ tag: `lane-${i}`, match: [{ type: 'header', name: 'x-user', operator: '==', value: `u-${i}` }] })) });
    const indexed = compileWith(keyedLanes(40), {}, true);
    expect(indexed.source).toBeUndefined();
    expect(indexed.matcher.match(requestView({ headers: { 'x-user': 'u-39' } }))).toBe('lane-39');
    expect(indexed.matcher.match(requestView({ headers: { 'x-user': 'u-40' } }))).toBeUndefined();
    // Below 32 rules, and where every request would be tried against every rule, the generated function.
    expect(compileWith(keyedLanes(31), {}, true).source).toBeDefined();
    const shared = lanesOf(40, (i) => [
      { type: 'header', name: 'x-env', operator: '==', value: 'prod' },
      { type: 'query', name: 'g', operator: 'regex', value: `^g${i}$` },
    ]);
    const generated = compileWith(shared, {}, true);
    expect(generated.source).toBeDefined();
    expect(generated.matcher.match(requestView({ headers: { 'x-env': 'prod' }, query: { g: 'g7' } }))).toBe('lane-7');
  });

  it('never reads an attribute to find candidates', () => {
    let calls = 0;
    const tenant = () => (calls++, 't1');
    const set = lanesOf(200, (i) => [
      { type: 'header', name: 'x', operator: '==', value: `${i}` },
      { type: 'attribute', name: 'tenant', operator: '==', value: 't1' },
    ]);
    const matcher = compileWith(set, { attributes: { tenant } }, false, true).matcher;
    expect(matcher.match(requestView({ headers: { x: 'none' } }))).toBeUndefined();
    expect(calls).toBe(0);
    expect(matcher.match(requestView({ headers: { x: '7' } }))).toBe('lane-7');
    expect(calls).toBe(1);
  });
});

describe('rule sets too large for one optimised function', () => {
  it('are evaluated by the closures, with the same results', () => {
    const lanes = (n: number) =>
      rules({
        lanes: Array.from({ length: n }, (_, i) => ({
          tag: `lane-${i}`,
          match: [{ all: [{ type: 'header', name: `x-${i % 7}`, operator: 'regex', value: '^u[0-9]+$' }, { type: 'query', name: 'group', operator: '==', value: `lane-${i}` }] }],
        })),
      });
    const small = compileWith(lanes(20), {}, true);
    expect(small.source!.length).toBeLessThan(MAX_GENERATED_SOURCE);
    const large = compileWith(lanes(400), {}, true);
    expect(large.source).toBeUndefined();
    const req = (group: string) => requestView({ headers: { 'x-0': 'u1', 'x-1': 'u1', 'x-2': 'u1', 'x-3': 'u1', 'x-4': 'u1', 'x-5': 'u1', 'x-6': 'u1' }, query: { group } });
    expect(large.matcher.match(req('lane-399'))).toBe('lane-399');
    expect(large.matcher.match(req('lane-400'))).toBeUndefined();
  });
});

describe('re-entrancy', () => {
  // An attribute that itself asks the same matcher for a lane: the nested evaluation must neither
  // see nor clobber the outer request's field values, shared predicate results or random draw.
  for (const [generate, index, name] of [
    [true, true, 'generated'],
    [false, false, 'closures'],
    [false, true, 'candidate index'],
  ] as const) {
    it(`keeps each evaluation's state apart (${name})`, () => {
      let draws = 0;
      const random = () => (draws++ === 0 ? 0.1 : 0.9); // the outer request draws 10, any later draw 90
      const half = { operator: 'random', percentage: 50 };
      const set = rules({
        lanes: [
          { tag: 'inner', match: [{ all: [{ type: 'header', name: 'x-inner', operator: 'exists' }, half] }] },
          {
            tag: 'outer',
            match: [{ all: [{ type: 'header', name: 'x-env', operator: '==', value: 'gray' }, half, { type: 'attribute', name: 'nested', operator: '==', value: 'none' }, half] }],
          },
        ],
      });
      let matcher: ReturnType<typeof compileWith>['matcher'] | undefined;
      // The nested request draws 90, so it matches nothing.
      const nested = () => matcher!.match(requestView({ headers: { 'x-inner': '1' } })) ?? 'none';
      matcher = compileWith(set, { random, attributes: { nested } }, generate, index).matcher;
      for (const decide of [(req: RequestView) => matcher!.match(req), (req: RequestView) => matcher!.explain(req).lane]) {
        draws = 0;
        // The outer draw (10) must survive the nested one (90) for the second random test.
        expect(decide(requestView({ headers: { 'x-env': 'gray' } }))).toBe('outer');
        expect(draws).toBe(2);
      }
      draws = 0;
      expect(matcher.match(requestView({ headers: { 'x-env': 'prod' } }))).toBeUndefined();
    });
  }
});

describe('compileMatcher', () => {
  it('reads each distinct field once per request', () => {
    const set = rules({
      lanes: Array.from({ length: 5 }, (_, i) => ({
        tag: `lane-${i}`,
        match: [{ all: [{ type: 'header', name: 'x-env', operator: 'prefix', value: 'pr' }, { type: 'query', name: 'group', operator: '==', value: `lane-${i}` }] }],
      })),
    });
    const reads: string[] = [];
    const view: RequestView = {
      method: 'GET',
      path: '/',
      host: '',
      header: (name) => (reads.push(`header:${name}`), 'prod'),
      query: (name) => (reads.push(`query:${name}`), 'lane-4'),
      cookie: () => undefined,
    };
    for (const [generate, index] of [
      [true, true],
      [false, false],
      [false, true],
    ]) {
      reads.length = 0;
      expect(compileWith(set, {}, generate!, index).matcher.match(view)).toBe('lane-4');
      expect(reads.sort()).toEqual(['header:x-env', 'query:group']);
    }
    expect(compileMatcher(set).match(view)).toBe('lane-4');
  });
});
