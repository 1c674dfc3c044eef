import { isGraylaneError } from '@graylane/core';
import { parseRules } from '../src/index.js';

const BIG = '12345678901234567890';

function valueOf(text: string): unknown {
  const { rules } = parseRules(text);
  const condition = rules.lanes[0]!.match[0]!.condition as { value?: unknown; values?: unknown };
  return condition.value ?? condition.values;
}

describe('unquoted big numbers keep their digits', () => {
  it('YAML: a 20-digit id is not rounded', () => {
    expect(valueOf(`lanes:\n  - tag: gray\n    match:\n      - { type: header, name: x-user, operator: '==', value: ${BIG} }\n`)).toBe(BIG);
  });

  it('JSON: a 20-digit id is not rounded, a string that looks like one is left alone', () => {
    const text = JSON.stringify({ lanes: [{ tag: 'gray', match: [{ type: 'header', name: 'x-user', operator: 'in', values: ['x 99999999999999999999 "\\"', 1] }] }] }).replace('1]', `${BIG}, -${BIG}, 1.000000000000000000001, 7]`);
    expect(valueOf(text)).toEqual(['x 99999999999999999999 "\\"', BIG, `-${BIG}`, '1.000000000000000000001', '7']);
  });

  it('YAML: two ids that differ past the 16th digit stay two values', () => {
    expect(valueOf(`lanes:\n  - tag: gray\n    match:\n      - { type: header, name: x-user, operator: in, values: [${BIG}, 12345678901234567891, 0x1F, 12] }\n`)).toEqual([BIG, '12345678901234567891', '31', '12']);
  });

  it('a field that needs a number refuses a big one with its path', () => {
    try {
      parseRules(`lanes:\n  - tag: gray\n    priority: ${BIG}\n    match: []\n`);
      throw new Error('accepted');
    } catch (error) {
      expect(isGraylaneError(error)).toBe(true);
      const issues = (error as { details: { issues: { path: string }[] } }).details.issues;
      expect(issues.map((issue) => issue.path)).toEqual(['documents[0].lanes[0].priority']);
    }
  });
});
