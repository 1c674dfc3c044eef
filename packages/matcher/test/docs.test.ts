import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRules } from '@graylane/rules';
import { compileMatcher, requestView } from '../src/index.js';

const page = readFileSync(join(__dirname, '../../../docs/reference/rules.md'), 'utf8');

/** The page's yaml and json examples, with the heading they sit under. */
function examples(): { heading: string; lang: string; text: string }[] {
  const out: { heading: string; lang: string; text: string }[] = [];
  let heading = '';
  const blocks = page.split(/^```/m);
  blocks.forEach((block, i) => {
    if (i % 2 === 0) {
      const headings = block.match(/^#+ .*$/gm);
      if (headings) heading = headings[headings.length - 1]!;
      return;
    }
    const lang = block.slice(0, block.indexOf('\n'));
    if (lang === 'yaml' || lang === 'json') out.push({ heading, lang, text: block.slice(block.indexOf('\n') + 1) });
  });
  return out;
}

describe('docs/reference/rules.md', () => {
  it('has examples that parse and compile', () => {
    const all = examples();
    expect(all.length).toBeGreaterThanOrEqual(8);
    for (const { lang, text } of all) {
      const { rules } = parseRules(text, { format: lang as 'yaml' | 'json' });
      expect(() => compileMatcher(rules)).not.toThrow();
    }
  });

  it('shows the seed rules in four forms that all route alike', () => {
    const seeds = examples().filter(({ heading }) => /^### (Native YAML|OpenSergo TrafficLabelRule|OpenSergo TrafficRouter|MSE lane JSON)$/.test(heading));
    expect(seeds.map((s) => s.heading)).toHaveLength(4);
    const requests = [
      [{ path: '/A/a', query: { group: 'gray' } }, 'gray'],
      [{ path: '/a', query: { env: 'gray' } }, 'gray'],
      [{ path: '/index', headers: { 'x-user-id': '12345' } }, 'gray'],
      [{ path: '/other', headers: { 'x-user-id': '12345' } }, undefined],
      [{ path: '/a', query: { env: 'prod' } }, undefined],
    ] as const;
    for (const { lang, text } of seeds) {
      const matcher = compileMatcher(parseRules(text, { format: lang as 'yaml' | 'json' }).rules);
      for (const [parts, lane] of requests) expect([lang, parts, matcher.match(requestView(parts))]).toEqual([lang, parts, lane]);
    }
  });
});
