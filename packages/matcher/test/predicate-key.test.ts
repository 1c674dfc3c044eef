import fc from 'fast-check';
import type { Predicate } from '@graylane/rules';
import { predicateKey } from '../src/compile/memo.js';

// Small alphabets, so that near-equal predicates (same name, a value one character off, a value
// that contains the separators) meet often.
const text = fc.string({ unit: fc.constantFrom('a', 'b', ' ', ':', '1', '\u0000'), maxLength: 4 });
const field = { type: fc.constantFrom('header' as const, 'query' as const, 'cookie' as const), name: text };
const predicate: fc.Arbitrary<Predicate> = fc.oneof(
  fc.record({ ...field, operator: fc.constantFrom('==' as const, '!=' as const, '>' as const, 'prefix' as const, 'regex' as const), value: text }),
  fc.record({ ...field, operator: fc.constantFrom('in' as const, 'not in' as const), values: fc.array(text, { maxLength: 3 }) }),
  fc.record({ ...field, operator: fc.constantFrom('exists' as const, 'not exists' as const) }),
  fc.record({ ...field, operator: fc.constant('modulo' as const), divisor: fc.integer({ min: 1, max: 3 }), remainder: fc.integer({ min: 0, max: 2 }), compare: fc.constantFrom('==' as const, '<' as const) }),
  fc.record({ ...field, operator: fc.constant('sticky' as const), percentage: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ operator: fc.constant('random' as const), percentage: fc.integer({ min: 0, max: 2 }) }),
);

describe('predicateKey', () => {
  it('is equal for two predicates exactly when they are equal', () => {
    fc.assert(
      fc.property(predicate, predicate, (a, b) => {
        const equal = JSON.stringify(a) === JSON.stringify(b);
        expect(predicateKey(a) === predicateKey(b)).toBe(equal);
      }),
      { numRuns: 20_000 },
    );
  });

  it('tells apart values that only a naive join would confuse', () => {
    const key = (values: string[]) => predicateKey({ type: 'header', name: 'x', operator: 'in', values });
    expect(key(['a b', 'c'])).not.toBe(key(['a', 'b c']));
    expect(key(['a'])).not.toBe(key(['a', '']));
    expect(predicateKey({ type: 'header', name: 'x 1:y', operator: '==', value: 'z' })).not.toBe(predicateKey({ type: 'header', name: 'x', operator: '==', value: 'y == 1:z' }));
  });
});
