import { validateRules } from '../src/index.js';

function warningsOf(lanes: unknown[], groups: unknown[] = []) {
  const result = validateRules({ lanes, groups });
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.warnings.map((w) => [w.path, w.message]);
}

const header = (value: string) => ({ type: 'header', name: 'x', operator: '==', value });
const query = { type: 'query', name: 'q', operator: 'exists' };

describe('shadowed rules', () => {
  it('warns about a rule an earlier, broader rule always beats', () => {
    expect(warningsOf([
      { tag: 'a', match: [header('1')] },
      { tag: 'b', match: [{ all: [header('1'), query] }] },
    ])).toEqual([['lanes[1].match[0]', expect.stringMatching(/lane "b" can never match: lane "a"'s rule at lanes\[0\].match\[0\]/)]]);
  });

  it('handles OR on both sides', () => {
    expect(warningsOf([
      { tag: 'a', match: [{ any: [header('1'), header('2')] }] },
      { tag: 'b', match: [{ any: [header('2'), { all: [header('1'), query] }] }] },
    ])).toHaveLength(1);
  });

  it('warns about a redundant rule in the same lane', () => {
    expect(warningsOf([{ tag: 'a', match: [header('1'), { all: [query, header('1')] }] }])).toEqual([
      ['lanes[0].match[1]', expect.stringMatching(/redundant/)],
    ]);
  });

  it('does not warn when priority, percentage or entry scope let the later rule win', () => {
    expect(warningsOf([
      { tag: 'a', match: [header('1')] },
      { tag: 'b', priority: -1, match: [header('1')] },
    ])).toEqual([['lanes[0].match[0]', expect.stringMatching(/lane "a" can never match/)]]);
    expect(warningsOf([
      { tag: 'a', percentage: 50, match: [header('1')] },
      { tag: 'b', match: [header('1')] },
    ])).toEqual([]);
    expect(warningsOf([
      { tag: 'a', match: [{ ...header('1'), entries: ['gw'] }] },
      { tag: 'b', match: [header('1')] },
    ])).toEqual([]);
    expect(warningsOf([
      { tag: 'a', match: [header('1')] },
      { tag: 'b', match: [header('2')] },
      { tag: 'c', enabled: false, match: [header('1')] },
    ])).toEqual([]);
  });

  it('knows that an all-traffic percentage lane shadows lanes after it', () => {
    expect(warningsOf([
      { tag: 'a', percentage: 100 },
      { tag: 'b', match: [header('1')] },
    ])).toEqual([['lanes[1].match[0]', expect.stringMatching(/can never match/)]]);
    expect(warningsOf([{ tag: 'z', percentage: 0 }])).toEqual([['lanes[0]', expect.stringMatching(/percentage 0/)]]);
  });

  it('finds the covering rule through its rarest predicate among thousands of rules sharing another', () => {
    const lanes: unknown[] = [{ tag: 'a', match: [{ all: [header('gray'), query] }] }];
    for (let i = 0; i < 3000; i++) lanes.push({ tag: `u${i}`, match: [{ all: [header('gray'), { type: 'header', name: 'u', operator: '==', value: `${i}` }] }] });
    lanes.push({ tag: 'c', match: [{ all: [{ type: 'header', name: 'u', operator: '==', value: '7' }, query, header('gray')] }] });
    expect(warningsOf(lanes)).toEqual([['lanes[3001].match[0]', expect.stringMatching(/lane "c" can never match: lane "a"'s rule at lanes\[0\].match\[0\]/)]]);
  });

  it('bounds the comparisons when many rules share their rarest predicate, and says so', () => {
    const lanes = Array.from({ length: 400 }, (_, i) => ({ tag: `l${i}`, match: [{ all: [header('1'), query] }] }));
    const warnings = warningsOf(lanes);
    expect(warnings.filter(([path]) => path !== '')).toHaveLength(399);
    expect(warnings.filter(([path]) => path === '')).toEqual([['', expect.stringMatching(/at most 256 earlier rules.* 143 rules were not compared/)]]);
  });
});
