import fc from 'fast-check';
import { BASE_LANE } from '@graylane/core';
import { validateRules } from '@graylane/rules';
import type { ComparePredicate, Condition, LaneRuleSet, Predicate } from '@graylane/rules';
import { compileMatcher, fnv1a32, requestView, stickyBucket } from '../src/index.js';
import type { RequestParts } from '../src/index.js';

// A deliberately simple reference: walks the rules as data, with no compilation and no sharing.

interface PlainRequest {
  headers: Record<string, string>;
  query: Record<string, string>;
  cookies: Record<string, string>;
  path: string;
  method: string;
  host: string;
  draw: number;
}

function read(req: PlainRequest, type: string, name: string): string | undefined {
  const own = (o: Record<string, string>) => (Object.hasOwn(o, name) ? o[name] : undefined);
  if (type === 'header') return own(req.headers);
  if (type === 'query') return own(req.query);
  if (type === 'cookie') return own(req.cookies);
  if (type === 'path') return req.path;
  if (type === 'method') return req.method;
  if (type === 'host') return req.host;
  return undefined;
}

function isNumber(s: string): boolean {
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s);
}

const isInteger = (s: string): boolean => /^[+-]?\d+$/.test(s);

/** `==` and `!=` on strings, exactly; ordering on integers (any length), decimals, else strings. */
function compare(op: string, a: string, b: string): boolean {
  if (op === '==') return a === b;
  if (op === '!=') return a !== b;
  const [x, y]: [bigint, bigint] | [number, number] | [string, string] =
    isInteger(a) && isInteger(b) ? [BigInt(a), BigInt(b)] : isNumber(a) && isNumber(b) ? [Number(a), Number(b)] : [a, b];
  return op === '>' ? x > y : op === '<' ? x < y : op === '>=' ? x >= y : x <= y;
}

function holds(c: Condition, req: PlainRequest): boolean {
  if ('all' in c) return c.all.every((x) => holds(x, req));
  if ('any' in c) return c.any.some((x) => holds(x, req));
  const p = c as Predicate;
  if (p.operator === 'random') return req.draw < p.percentage;
  const v = read(req, p.type, p.name);
  if (p.operator === 'not exists') return v === undefined;
  if (v === undefined) return false;
  switch (p.operator) {
    case 'exists': return true;
    case 'in': return p.values.includes(v);
    case 'not in': return !p.values.includes(v);
    case 'prefix': return v.startsWith(p.value);
    case 'suffix': return v.endsWith(p.value);
    case 'contains': return v.includes(p.value);
    case 'regex': return new RegExp(p.value).test(v);
    case 'modulo': return isInteger(v) && compare(p.compare, String(BigInt(v) % BigInt(p.divisor)), String(p.remainder));
    case 'sticky': return fnv1a32(v) % 100 < p.percentage;
    default: return compare(p.operator, v, (p as ComparePredicate).value);
  }
}

function reference(rules: LaneRuleSet, req: PlainRequest): string | undefined {
  const candidates: [number, number, number, string, Condition, () => boolean][] = [];
  rules.lanes.forEach((lane, li) => {
    if (!lane.enabled) return;
    const admit = () => {
      const pct = lane.percentage;
      if (!pct) return true;
      if (!pct.key) return req.draw < pct.value;
      const k = read(req, pct.key.type, pct.key.name);
      return k !== undefined && fnv1a32(k) % 100 < pct.value;
    };
    lane.match.forEach((rule, ri) => candidates.push([rule.priority, li, ri, lane.tag, rule.condition, admit]));
    if (lane.match.length === 0 && lane.percentage) candidates.push([lane.priority, li, -1, lane.tag, { all: [] }, admit]);
  });
  candidates.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
  const winner = candidates.find(([, , , , condition, admit]) => holds(condition, req) && admit());
  return winner && winner[3] !== BASE_LANE ? winner[3] : undefined;
}

// Generators over small pools, so that rules and requests meet often.

const names = fc.constantFrom('a', 'b', 'x-user');
const values = fc.constantFrom('1', '2', '10', '1.0', 'gray', 'gr', '-3', '');
const fieldType = fc.constantFrom('header', 'query', 'cookie', 'path', 'method', 'host');
const field = fieldType.chain((type) =>
  ['path', 'method', 'host'].includes(type) ? fc.constant({ type }) : names.map((name) => ({ type, name })),
);
const predicate = fc.oneof(
  fc.tuple(field, fc.constantFrom('==', '!=', '>', '<', '>=', '<='), values).map(([f, operator, value]) => ({ ...f, operator, value })),
  fc.tuple(field, fc.constantFrom('in', 'not in'), fc.array(values, { minLength: 1, maxLength: 3 })).map(([f, operator, vs]) => ({ ...f, operator, values: vs })),
  fc.tuple(field, fc.constantFrom('prefix', 'suffix', 'contains'), values).map(([f, operator, value]) => ({ ...f, operator, value })),
  fc.tuple(field, fc.constantFrom('^g', '[0-9]$', '^-?\\d+$')).map(([f, value]) => ({ ...f, operator: 'regex', value })),
  fc.tuple(field, fc.constantFrom('exists', 'not exists')).map(([f, operator]) => ({ ...f, operator })),
  fc.tuple(field, fc.integer({ min: 1, max: 5 }), fc.integer({ min: -2, max: 4 })).map(([f, divisor, remainder]) => ({ ...f, operator: 'modulo', divisor, remainder })),
  fc.tuple(field, fc.integer({ min: 0, max: 100 })).map(([f, percentage]) => ({ ...f, operator: 'sticky', percentage })),
  fc.integer({ min: 0, max: 100 }).map((percentage) => ({ operator: 'random', percentage })),
);
const condition: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, predicate, fc.record({ all: fc.array(tie('node'), { minLength: 1, maxLength: 3 }) }), fc.record({ any: fc.array(tie('node'), { minLength: 1, maxLength: 3 }) })),
})).node;
const matchRule = fc.tuple(condition, fc.option(fc.integer({ min: -1, max: 1 }), { nil: undefined })).map(([c, priority]) =>
  'all' in (c as object) || 'any' in (c as object) || priority === undefined ? c : { ...(c as object), priority },
);
const lane = fc.record(
  {
    tag: fc.constantFrom('gray', 'blue', 'green', 'base'),
    enabled: fc.boolean(),
    priority: fc.integer({ min: -1, max: 1 }),
    match: fc.array(matchRule, { maxLength: 3 }),
    percentage: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.record({ value: fc.integer({ min: 0, max: 100 }), key: field })),
  },
  { requiredKeys: ['tag', 'match'] },
);
const laneSet = fc.uniqueArray(lane, { selector: (l) => l.tag, maxLength: 4 });
const pool = (keys: fc.Arbitrary<string>) => fc.dictionary(keys, values, { maxKeys: 3 });
const request = fc.record({
  headers: pool(names),
  query: pool(names),
  cookies: pool(names),
  path: values,
  method: fc.constantFrom('GET', 'POST'),
  host: values,
  draw: fc.integer({ min: 0, max: 99 }),
});

describe('compiled matcher', () => {
  it('agrees with the reference evaluator on random rules and requests', () => {
    fc.assert(
      fc.property(laneSet, fc.array(request, { minLength: 1, maxLength: 8 }), (lanes, requests) => {
        const result = validateRules({ lanes });
        if (!result.ok) throw new Error(JSON.stringify(result.issues));
        let draw = 0;
        const matcher = compileMatcher(result.rules, { random: () => draw / 100 + 0.001 });
        for (const req of requests) {
          draw = req.draw;
          const parts: RequestParts = { ...req };
          expect(matcher.match(requestView(parts))).toBe(reference(result.rules, req));
          expect(matcher.explain(requestView(parts)).lane).toBe(reference(result.rules, req));
        }
      }),
      { numRuns: 400 },
    );
  });
});

/** Random printable keys (user ids, emails, UUID-ish), from a seeded xorshift so runs repeat. */
function randomKeys(count: number, seed: number): string[] {
  let state = seed;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_@.中文é';
  return Array.from({ length: count }, () => {
    let key = '';
    const length = 1 + Math.floor(next() * 24);
    for (let i = 0; i < length; i++) key += alphabet[Math.floor(next() * alphabet.length)];
    return key;
  });
}

describe('sticky percentage', () => {
  it('is stable per key and within ±1 point of the target over 100k random keys', () => {
    const keys = randomKeys(100_000, 42);
    const buckets = keys.map(stickyBucket);
    for (const target of [1, 10, 33, 50, 90]) {
      const share = (buckets.filter((bucket) => bucket < target).length / keys.length) * 100;
      expect(Math.abs(share - target)).toBeLessThanOrEqual(1);
    }
    for (const key of keys.slice(0, 1000)) expect(stickyBucket(key)).toBe(stickyBucket(key));
  });

  it('hashes the UTF-8 bytes with FNV-1a (published test vectors)', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    const utf8 = (key: string) => [...new TextEncoder().encode(key)].reduce((h, byte) => Math.imul(h ^ byte, 0x01000193) >>> 0, 0x811c9dc5);
    for (const key of ['héllo', '中文', '😀', 'a\ud800b', '\udc00']) expect(fnv1a32(key)).toBe(utf8(key));
  });
});
