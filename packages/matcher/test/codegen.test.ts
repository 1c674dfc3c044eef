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
        const closures = compileWith(set, options, false);
        expect(generated.source).toBeDefined();
        expect(closures.source).toBeUndefined();
        for (const req of requests) {
          draw = req.draw;
          expect(generated.matcher.match(requestView(req))).toBe(closures.matcher.match(requestView(req)));
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
  for (const generate of [true, false]) {
    it(`keeps each evaluation's state apart (${generate ? 'generated' : 'closures'})`, () => {
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
      matcher = compileWith(set, { random, attributes: { nested } }, generate).matcher;
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
    for (const generate of [true, false]) {
      reads.length = 0;
      expect(compileWith(set, {}, generate).matcher.match(view)).toBe('lane-4');
      expect(reads).toEqual(['header:x-env', 'query:group']);
    }
    expect(compileMatcher(set).match(view)).toBe('lane-4');
  });
});
