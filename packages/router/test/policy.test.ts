import fc from 'fast-check';
import { ErrorCode } from '@graylane/core';
import { compilePolicy, type RoutingPolicy } from '../src/index.js';
import { errorOf } from './helpers.js';

/** A policy input as `fallbackPolicy` of @graylane/rules gives it: frozen, arrays included. */
function frozen(fallback: Record<string, string[]>): Record<string, readonly string[]> {
  const out: Record<string, readonly string[]> = Object.create(null) as Record<string, readonly string[]>;
  for (const [lane, steps] of Object.entries(fallback)) out[lane] = Object.freeze([...steps]);
  return Object.freeze(out);
}

const LANES = ['a', 'b', 'c', 'gray', 'rc'] as const;

function chains(policy: RoutingPolicy): Record<string, readonly string[]> {
  return Object.fromEntries([...LANES, 'unknown'].map((lane) => [lane, policy.chain(lane)]));
}

describe('compilePolicy: frozen input and a previous policy', () => {
  it('reads a frozen input as it reads a copy of it', () => {
    const input = { gray: ['rc', 'gray', 'rc', 'base'], rc: ['base'], a: ['b', 'c'] };
    expect(chains(compilePolicy({ fallback: frozen(input) }))).toEqual(chains(compilePolicy({ fallback: input })));
    expect(compilePolicy({ fallback: frozen(input) }).chain('gray')).toEqual(['rc']);
  });

  it('property: given any previous policy, a compile decides as a fresh one', () => {
    const steps = fc.array(fc.constantFrom<string>(...LANES, 'base'), { maxLength: 4 }).map((s) => (s.includes('base') ? [...s.filter((x) => x !== 'base'), 'base'] : s));
    const input = fc.dictionary(fc.constantFrom<string>(...LANES, ' rc '), steps);
    fc.assert(
      fc.property(input, input, fc.boolean(), (first, second, share) => {
        const before = frozen(first);
        // Shared arrays, as a reload of rules gives them for the lanes it did not change.
        const after: Record<string, readonly string[]> = Object.create(null) as Record<string, readonly string[]>;
        for (const [lane, s] of Object.entries(frozen(second))) {
          after[lane] = share && before[lane] !== undefined && JSON.stringify(before[lane]) === JSON.stringify(s) ? before[lane]! : s;
        }
        const previous = compilePolicy({ fallback: before, strict: Object.freeze(['a']) });
        const revised = compilePolicy({ fallback: Object.freeze(after), strict: Object.freeze(['b']) }, previous);
        expect(chains(revised)).toEqual(chains(compilePolicy({ fallback: second, strict: ['b'] })));
        expect(revised.isStrict('b') && !revised.isStrict('a')).toBe(true);
      }),
    );
  });

  it('takes again the strict test of the very frozen list it was made with', () => {
    const strict = Object.freeze(['gray']);
    const previous = compilePolicy({ strict });
    expect(compilePolicy({ strict }, previous).isStrict).toBe(previous.isStrict);
    expect(compilePolicy({ strict: ['gray'] }, previous).isStrict).not.toBe(previous.isStrict);
  });

  it('copies input that is not frozen: changing it afterwards changes nothing', () => {
    const fallback: Record<string, string[]> = { gray: ['rc'] };
    const policy = compilePolicy({ fallback });
    fallback['gray']!.push('a');
    fallback['rc'] = ['gray'];
    expect(policy.chain('gray')).toEqual(['rc']);
    expect(policy.chain('rc')).toEqual([]);
  });

  it('reads in place only what cannot change: an array that is not frozen is copied', () => {
    const steps = ['rc'];
    const policy = compilePolicy({ fallback: Object.freeze({ gray: steps }) });
    steps.push('a');
    expect(policy.chain('gray')).toEqual(['rc']);
  });

  it('finds a chain under a key spelled with spaces in a frozen input', () => {
    const policy = compilePolicy({ fallback: Object.freeze({ ' gray ': Object.freeze(['rc']) }) });
    expect(policy.chain('gray')).toEqual(['rc']);
  });

  it('still refuses, with its path, a lane or step a revision adds, and keeps nothing of it', () => {
    const previous = compilePolicy({ fallback: frozen({ gray: ['rc'] }) });
    const bad = Object.freeze({ ...frozen({ gray: ['rc'] }), 'no such lane!': Object.freeze(['rc']), rc: Object.freeze(['base', 'gray']) });
    const error = errorOf(() => compilePolicy({ fallback: bad }, previous));
    expect(error.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(error.message).toContain('fallback["no such lane!"]: not a lane name');
    expect(error.message).toContain('fallback["rc"][0]: base is always tried last');
    // A lane the previous policy had, with a new chain, is validated as well.
    const changed = errorOf(() => compilePolicy({ fallback: frozen({ gray: ['base', 'rc'] }) }, previous));
    expect(changed.message).toContain('fallback["gray"][0]: base is always tried last');
  });

  it('drops the chain of a lane a revision removes', () => {
    const before = frozen({ gray: ['rc'], rc: ['a'] });
    const previous = compilePolicy({ fallback: before });
    const revised = compilePolicy({ fallback: Object.freeze({ gray: before['gray']! }) }, previous);
    expect(revised.chain('gray')).toEqual(['rc']);
    expect(revised.chain('rc')).toEqual([]);
  });
});
