import fc from 'fast-check';
import { ErrorCode, isGraylaneError } from '@graylane/core';
import { parseRules, validateRules } from '../src/index.js';

function onlyTypedErrors(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    if (!isGraylaneError(error) || error.code !== ErrorCode.RULE_INVALID) throw error;
    const issues = error.details.issues as { path: string; message: string; severity: string }[];
    expect(issues.length).toBeGreaterThan(0);
    for (const issue of issues) {
      expect(typeof issue.path).toBe('string');
      expect(issue.message.length).toBeGreaterThan(0);
    }
  }
}

/** Values shaped like rule documents, with junk in every position. */
const ruleish = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom('gray', 'base', 'header', 'query', '==', 'in', 'regex', '(a+)+', 'TrafficLabelRule', 'TrafficRouter', 'LaneRules', 'traffic.opensergo.io/v1alpha1', 'graylane.io/v1alpha1'),
    fc.string(),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(
      fc.constantFrom('lanes', 'tag', 'match', 'all', 'any', 'type', 'name', 'operator', 'value', 'values', 'kind', 'apiVersion', 'spec', 'trafficLabel', 'key', 'condition', 'http', 'route', 'destination', 'hosts', 'Tag', 'EntryRules', 'restItems', 'fallback', 'percentage', '__proto__', 'constructor'),
      tie('value'),
      { maxKeys: 6 },
    ),
  ),
})).value;

describe('bad input', () => {
  it('never throws anything but GraylaneError RULE_INVALID (random text)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => onlyTypedErrors(() => parseRules(text))),
      { numRuns: 500 },
    );
  });

  it('never throws from validateRules, and parseRules of the JSON only throws the typed error', () => {
    fc.assert(
      fc.property(ruleish, (value) => {
        const result = validateRules(value);
        expect(typeof result.ok).toBe('boolean');
        onlyTypedErrors(() => parseRules(JSON.stringify(value) ?? 'null', { format: 'json' }));
      }),
      { numRuns: 1500 },
    );
  });

  it('rejects hostile nesting, non-string text and YAML alias bombs', () => {
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    onlyTypedErrors(() => parseRules(deep));
    expect(() => parseRules(deep)).toThrow(/nested deeper/);
    expect(() => parseRules(42 as unknown as string)).toThrow(/expected rule text/);
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]', ...'bcdefghi'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(', ')}]`)].join('\n');
    onlyTypedErrors(() => parseRules(bomb));
    expect(validateRules(undefined)).toMatchObject({ ok: false });
  });
});
