import { parseRules } from '@graylane/rules';
import type { Predicate } from '@graylane/rules';
import { Memo, predicateKey } from '../src/compile/memo.js';
import type { Test } from '../src/compile/predicate.js';
import { fnv1a32 } from '../src/hash.js';
import { requestView } from '../src/index.js';
import { compileWith } from '../src/matcher.js';

const header = (value: string): Predicate => ({ type: 'header', name: 'x-user', operator: '==', value });

/** Two predicates whose keys Memo counts as one (the 30 low bits of their FNV-1a hashes are equal). */
function collidingPair(): [Predicate, Predicate] {
  const seen = new Map<number, string>();
  for (let i = 0; i < 1_000_000; i++) {
    const value = `u${i}`;
    const hash = fnv1a32(predicateKey(header(value))) & 0x3fffffff;
    const earlier = seen.get(hash);
    if (earlier !== undefined) return [header(earlier), header(value)];
    seen.set(hash, value);
  }
  throw new Error('no two keys with one hash in 1,000,000');
}

describe('Memo counts predicates by a hash of their keys', () => {
  const [first, second] = collidingPair();

  it('memoises a predicate used twice, and not one used once', () => {
    const memo = new Memo();
    const twice = header('twice');
    const once = header('once');
    memo.count(twice);
    memo.count({ all: [twice, once] });
    const test: Test = () => true;
    const shared = memo.predicate(twice, test);
    expect(shared).not.toBe(test);
    expect(memo.predicate(header('twice'), () => false)).toBe(shared);
    expect(memo.predicate(once, test)).toBe(test);
    expect(memo.predicates).toBe(1);
  });

  it('gives two predicates whose keys share a hash their own slots, never one', () => {
    expect(predicateKey(first)).not.toBe(predicateKey(second));
    const memo = new Memo();
    memo.count(first);
    memo.count(second);
    const a: Test = () => true;
    const b: Test = () => false;
    const forFirst = memo.predicate(first, a);
    const forSecond = memo.predicate(second, b);
    expect(forSecond).not.toBe(forFirst);
  });

  it('decides each lane by its own predicate when their keys share a hash', () => {
    if (first.operator !== '==' || second.operator !== '==') throw new Error('unexpected pair');
    const lane = (tag: string, value: string) =>
      `  - tag: ${tag}\n    match:\n      - { type: header, name: x-user, operator: '==', value: '${value}' }\n`;
    const rules = parseRules(`lanes:\n${lane('one', first.value)}${lane('two', second.value)}`).rules;
    // The compiled closures, which count with Memo (a generated `match` counts on its own).
    const { matcher } = compileWith(rules, {}, false);
    expect(matcher.match(requestView({ headers: { 'x-user': first.value } }))).toBe('one');
    expect(matcher.match(requestView({ headers: { 'x-user': second.value } }))).toBe('two');
    expect(matcher.match(requestView({ headers: { 'x-user': 'neither' } }))).toBeUndefined();
  });
});
