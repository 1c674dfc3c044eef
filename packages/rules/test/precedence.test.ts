import fc from 'fast-check';
import { rulesInPrecedenceOrder, validateRules } from '../src/index.js';

describe('rulesInPrecedenceOrder', () => {
  it('is the order of priority, then lane, then rule, for any priorities', () => {
    const lane = (tag: string) =>
      fc.record({
        tag: fc.constant(tag),
        priority: fc.integer({ min: -3, max: 3 }),
        match: fc.array(fc.option(fc.integer({ min: -3, max: 3 }), { nil: undefined }), { maxLength: 4 }),
      });
    fc.assert(
      fc.property(fc.tuple(...Array.from({ length: 8 }, (_, i) => lane(`lane-${i}`))), (lanes) => {
        const exists = { type: 'header', name: 'x', operator: 'exists' };
        const result = validateRules({ lanes: lanes.map((l) => ({ ...l, match: l.match.map((priority) => (priority === undefined ? exists : { ...exists, priority })) })) });
        if (!result.ok) throw new Error(JSON.stringify(result.issues));
        const ranked = rulesInPrecedenceOrder(result.rules);
        const expected = [...ranked].sort((a, b) => a.rule.priority - b.rule.priority || a.laneIndex - b.laneIndex || a.ruleIndex - b.ruleIndex);
        expect(ranked.map((r) => [r.laneIndex, r.ruleIndex])).toEqual(expected.map((r) => [r.laneIndex, r.ruleIndex]));
        expect(ranked).toHaveLength(result.rules.lanes.reduce((n, l) => n + l.match.length, 0));
      }),
      { numRuns: 300 },
    );
  });
});
