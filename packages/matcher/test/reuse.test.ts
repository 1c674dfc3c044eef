import { parseRules } from '@graylane/rules';
import { RegexTable } from '../src/compile/regex.js';
import { compileMatcher, compileMatcherInSlices, requestView } from '../src/index.js';

const text = (n: number, suffix = '') =>
  `lanes:\n${Array.from({ length: n }, (_, i) => `  - tag: lane-${i}\n    match:\n      - { type: header, name: x-env, operator: regex, value: '^e${i}${suffix}-[a-z]+$' }`).join('\n')}\n`;

describe('RegexTable', () => {
  it('compiles a pattern once per compile, takes the replaced matcher\'s copy, and keeps only its own patterns', () => {
    const old = new RegexTable();
    const a = old.get('^a+$');
    expect(old.get('^a+$')).toBe(a);
    old.get('^b$');
    const next = new RegexTable(old.compiled);
    expect(next.get('^a+$')).toBe(a);
    expect(typeof next.get('^c$')).toBe('object');
    expect([...next.compiled.keys()]).toEqual(['^a+$', '^c$']);
  });

  it('keeps a refusal as a refusal', () => {
    const table = new RegexTable();
    expect(typeof table.get('(a)\\1')).toBe('string');
    expect(typeof new RegexTable(table.compiled).get('(a)\\1')).toBe('string');
  });
});

describe('compiling with `previous`', () => {
  it('decides exactly as a fresh compile of the new rules, for patterns kept, changed and dropped', async () => {
    const before = compileMatcher(parseRules(text(50)).rules);
    // Lanes 0-24 keep their pattern, 25-34 change it (`^e<i>x-`), 35-49 are gone.
    const changed = `${text(25)}${text(35, 'x').split('\n').slice(1 + 25 * 3).join('\n')}`;
    const rules = parseRules(changed).rules;
    expect(rules.lanes).toHaveLength(35);
    const fresh = compileMatcher(rules);
    const reused = compileMatcher(rules, { previous: before });
    const sliced = await compileMatcherInSlices(rules, { previous: reused });
    for (let i = 0; i < 40; i++) {
      for (const value of [`e${i}-abc`, `e${i}x-abc`, `e${i}-1`]) {
        const req = requestView({ headers: { 'x-env': value } });
        expect(reused.match(req)).toBe(fresh.match(req));
        expect(sliced.match(req)).toBe(fresh.match(req));
      }
    }
    expect(reused.match(requestView({ headers: { 'x-env': 'e30x-q' } }))).toBe('lane-30');
    expect(reused.match(requestView({ headers: { 'x-env': 'e30-q' } }))).toBeUndefined();
  });
});
