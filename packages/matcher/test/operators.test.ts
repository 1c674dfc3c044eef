import { validateRules } from '@graylane/rules';
import { compileMatcher, requestView, stickyBucket } from '../src/index.js';
import type { RequestParts } from '../src/index.js';

/** True when a one-lane rule set with `condition` sends the request to the lane. */
function holds(condition: Record<string, unknown>, parts: RequestParts, options = {}): boolean {
  const result = validateRules({ lanes: [{ tag: 'gray', match: [condition] }] });
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return compileMatcher(result.rules, options).match(requestView(parts)) === 'gray';
}

const h = (operator: string, extra: Record<string, unknown> = {}) => ({ type: 'header', name: 'X-Val', operator, ...extra });
const withHeader = (value?: string): RequestParts => ({ headers: value === undefined ? {} : { 'x-val': value } });

describe('operators', () => {
  it.each([
    ['==', 'abc', 'abc', true],
    ['==', 'abc', 'abd', false],
    ['==', '10', '10.0', false],
    ['==', '10', '0x0a', false],
    ['!=', 'abc', 'abd', true],
    ['!=', '10', '1e1', true],
    ['>', '9', '10', true],
    ['>', 'b', 'a', false],
    ['<', '9', '10', false],
    ['<', 'b', 'a', true],
    ['>=', '10', '10', true],
    ['<=', '-1.5', '-2', true],
  ])('%s %s against %s → %s', (operator, value, actual, expected) => {
    expect(holds(h(operator, { value }), withHeader(actual))).toBe(expected);
  });

  it('is false for an absent field with every operator but "not exists"', () => {
    for (const condition of [h('==', { value: 'a' }), h('!=', { value: 'a' }), h('not in', { values: ['a'] }), h('exists'), h('regex', { value: '.*' })]) {
      expect(holds(condition, withHeader())).toBe(false);
    }
    expect(holds(h('not exists'), withHeader())).toBe(true);
    expect(holds(h('not exists'), withHeader(''))).toBe(false);
  });

  it('in / not in, prefix / suffix / contains, regex', () => {
    expect(holds(h('in', { values: ['a', 'b'] }), withHeader('b'))).toBe(true);
    expect(holds(h('in', { values: ['a', 'b'] }), withHeader('c'))).toBe(false);
    expect(holds(h('not in', { values: ['a', 'b'] }), withHeader('c'))).toBe(true);
    expect(holds(h('prefix', { value: 'ab' }), withHeader('abc'))).toBe(true);
    expect(holds(h('suffix', { value: 'bc' }), withHeader('abc'))).toBe(true);
    expect(holds(h('contains', { value: 'b' }), withHeader('abc'))).toBe(true);
    expect(holds(h('contains', { value: 'x' }), withHeader('abc'))).toBe(false);
    expect(holds(h('regex', { value: '^u[0-9]+$' }), withHeader('u123'))).toBe(true);
    expect(holds(h('regex', { value: '^u[0-9]+$' }), withHeader('u12x'))).toBe(false);
    expect(holds(h('regex', { value: 'a' }), withHeader('a'.repeat(5000)))).toBe(false);
  });

  it('modulo compares the integer remainder', () => {
    expect(holds(h('modulo', { divisor: 10, remainder: 3 }), withHeader('123'))).toBe(true);
    expect(holds(h('modulo', { divisor: 10, remainder: 3 }), withHeader('124'))).toBe(false);
    expect(holds(h('modulo', { divisor: 10, remainder: 5, compare: '<' }), withHeader('124'))).toBe(true);
    expect(holds(h('modulo', { divisor: 10, remainder: 3 }), withHeader('12.3'))).toBe(false);
    expect(holds(h('modulo', { divisor: 10, remainder: 3 }), withHeader('99999999999999999999993'))).toBe(true);
    expect(holds(h('modulo', { divisor: 10, remainder: 3 }), withHeader('99999999999999999999994'))).toBe(false);
  });

  it('sticky uses fnv1a32(key) % 100; random draws once per request', () => {
    const key = 'user-42';
    const bucket = stickyBucket(key);
    expect(holds(h('sticky', { percentage: bucket + 1 }), withHeader(key))).toBe(true);
    expect(holds(h('sticky', { percentage: bucket }), withHeader(key))).toBe(false);
    expect(holds({ operator: 'random', percentage: 30 }, {}, { random: () => 0.29 })).toBe(true);
    expect(holds({ operator: 'random', percentage: 30 }, {}, { random: () => 0.3 })).toBe(false);
  });

  it('reads every field type; header names are case-insensitive', () => {
    const parts: RequestParts = {
      method: 'post',
      path: '/index',
      host: 'WWW.Demo.com:8080',
      headers: { 'X-User-Id': '12345' },
      query: { group: ['gray', 'base'] },
      cookies: { uid: '7' },
    };
    expect(holds({ type: 'header', name: 'x-USER-id', operator: '==', value: 12345 }, parts)).toBe(true);
    expect(holds({ type: 'query', name: 'group', operator: '==', value: 'gray' }, parts)).toBe(true);
    expect(holds({ type: 'query', name: 'Group', operator: 'exists' }, parts)).toBe(false);
    expect(holds({ type: 'cookie', name: 'uid', operator: '>', value: 6 }, parts)).toBe(true);
    expect(holds({ type: 'path', operator: '==', value: '/index' }, parts)).toBe(true);
    expect(holds({ type: 'method', operator: '==', value: 'POST' }, parts)).toBe(true);
    expect(holds({ type: 'host', operator: '==', value: 'www.DEMO.com' }, parts)).toBe(true);
    const attributes = { tenant: () => 't1', broken: () => { throw new Error('boom'); } };
    expect(holds({ type: 'attribute', name: 'tenant', operator: '==', value: 't1' }, parts, { attributes })).toBe(true);
    expect(holds({ type: 'attribute', name: 'broken', operator: 'not exists' }, parts, { attributes })).toBe(true);
  });

  it('AND / OR groups', () => {
    const a = { type: 'header', name: 'a', operator: 'exists' };
    const b = { type: 'header', name: 'b', operator: 'exists' };
    expect(holds({ all: [a, b] }, { headers: { a: '1' } })).toBe(false);
    expect(holds({ any: [a, b] }, { headers: { a: '1' } })).toBe(true);
    expect(holds({ all: [a, { any: [b, { type: 'path', operator: '==', value: '/' }] }] }, { headers: { a: '1' } })).toBe(true);
  });
});
