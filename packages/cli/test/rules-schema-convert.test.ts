import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRules } from '@graylane/rules';
import { fixture, graylane } from './graylane.js';

describe('graylane rules schema', () => {
  it('prints the JSON Schema of the native form', async () => {
    const result = await graylane(['rules', 'schema']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const schema = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(schema).toMatchObject({ $schema: 'https://json-schema.org/draft/2020-12/schema', title: 'graylane lane rules' });
  });
});

describe('graylane rules convert', () => {
  const original = (name: string) => parseRules(readFileSync(fixture(name), 'utf8')).rules;

  it.each(['native.yaml', 'mse.json'])('prints native YAML that parses to the same rules as %s', async (name) => {
    const result = await graylane(['rules', 'convert', fixture(name)]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^apiVersion: graylane\.io\/v1alpha1\nkind: LaneRules\nspec:\n/);
    expect(parseRules(result.stdout, { format: 'yaml' }).rules).toEqual(original(name));
  });

  it('converts OpenSergo rules; a route without match becomes random < 100', async () => {
    const result = await graylane(['rules', 'convert', fixture('opensergo.yaml'), '--to', 'json']);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^graylane: warning: documents\[1\]\.spec\.http\[0\]\.route\[0\]\.destination\.fallback: fallback lane "rc" has no rules/);
    const { rules } = parseRules(result.stdout, { format: 'json' });
    const everyRequest = { all: [] };
    const expected = original('opensergo.yaml');
    // The only rewrite: the native form has no empty `all`, so the catch-all route is written as a random 100 %.
    expect(expected.lanes[2]!.match[0]!.condition).toEqual(everyRequest);
    expect(rules.lanes[2]!.match[0]!.condition).toEqual({ operator: 'random', percentage: 100 });
    expect({ ...rules, lanes: rules.lanes.slice(0, 2) }).toEqual({ ...expected, lanes: expected.lanes.slice(0, 2) });
    expect({ ...rules.lanes[2], match: [] }).toEqual({ ...expected.lanes[2], match: [] });
  });

  it.each(['apisix-routes.yaml', 'istio-virtualservice.yaml'])('shows what it understood of %s, warnings naming the ignored fields', async (name) => {
    const path = join(__dirname, '..', '..', 'rules', 'test', 'fixtures', name);
    const result = await graylane(['rules', 'convert', path, '--to', 'json']);
    expect(result.code).toBe(0);
    const { rules, warnings } = parseRules(readFileSync(path, 'utf8'));
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(warnings.length);
    for (const warning of warnings) expect(result.stderr).toContain(`${warning.path}: ${warning.message}`);
    // A catch-all (empty `all`) is written as random 100 %, the native form having no empty `all`.
    const catchAll = (condition: unknown) => (JSON.stringify(condition) === '{"all":[]}' ? { operator: 'random', percentage: 100 } : condition);
    const expected = rules.lanes.map((lane) => ({ ...lane, match: lane.match.map((rule) => ({ ...rule, condition: catchAll(rule.condition) })) }));
    expect(parseRules(result.stdout, { format: 'json' }).rules.lanes).toEqual(expected);
  });

  it('refuses invalid rules and unknown formats', async () => {
    const [invalid, format] = await Promise.all([
      graylane(['rules', 'convert', fixture('invalid.yaml')]),
      graylane(['rules', 'convert', fixture('native.yaml'), '--to', 'xml']),
    ]);
    expect(invalid).toMatchObject({ code: 1, stdout: '' });
    expect(invalid.stderr).toMatch(/^graylane: GRAYLANE_ERR_RULE_INVALID: /);
    expect(format).toMatchObject({ code: 2, stdout: '' });
    expect(format.stderr).toMatch(/^graylane: usage: --to takes native-yaml or json, got "xml"/);
  });
});
