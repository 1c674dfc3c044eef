import { join } from 'node:path';
import { fixture, graylane } from './graylane.js';

describe('graylane rules validate', () => {
  it('accepts valid files of every form and says what they hold', async () => {
    const result = await graylane(['rules', 'validate', fixture('native.yaml'), fixture('mse.json')]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('native.yaml: valid (3 lanes, 1 group)');
    expect(result.stdout).toContain('mse.json: valid (1 lane, 0 groups)');
  });

  it('prints every problem with its path and exits 1', async () => {
    const result = await graylane(['rules', 'validate', fixture('invalid.yaml')]);
    expect(result.code).toBe(1);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^graylane: GRAYLANE_ERR_RULE_INVALID: invalid lane rules in .*invalid\.yaml \(3 problems\):$/);
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(/^ {2}documents\[0\]\.lanes\[0\]\.match\[0\]\.name: is required/),
      expect.stringMatching(/^ {2}documents\[0\]\.lanes\[0\]\.match\[1\]\.operator: must be one of .*\(got "equals"\)$/),
      expect.stringMatching(/^ {2}documents\[0\]\.lanes\[1\]\.fallback\[0\]: lane "rc" cannot fall back to itself$/),
    ]);
  });

  it('prints every problem of a multi-document file of several forms in one pass, paths from documents[0]', async () => {
    const result = await graylane(['rules', 'validate', fixture('several-problems.yaml')]);
    expect(result.code).toBe(1);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/several-problems\.yaml \(19 problems\):$/);
    const paths = lines.slice(1).filter((line) => !line.includes(': warning: ')).map((line) => line.trim().split(': ')[0]);
    expect(paths).toHaveLength(19);
    expect(paths.every((path) => /^documents\[[0-4]\]\./.test(path!))).toBe(true);
    // At least one problem of each document (native, TrafficLabelRule, TrafficRouter, VirtualService, MSE), and
    // problems that used to hide behind an earlier one of the same document.
    expect(paths).toEqual(
      expect.arrayContaining([
        'documents[0].lanes[0].match[0].operator',
        'documents[1].spec.match[2].value',
        'documents[2].spec.http[0].match[0].headers["x-user"].regex',
        'documents[2].spec.http[2].redirect',
        'documents[3].spec.http[0].match[0].headers["x-user"].regex',
        'documents[4].EntryRules[1].restItems[0].cond',
      ]),
    );
    const json = await graylane(['rules', 'validate', '--json', fixture('several-problems.yaml')]);
    const [file] = JSON.parse(json.stdout) as { ok: boolean; issues: { path: string; severity: string }[] }[];
    expect(file!.ok).toBe(false);
    expect(file!.issues.filter((issue) => issue.severity === 'error').map((issue) => issue.path)).toEqual(paths);
  });

  it('prints warnings about shadowed rules and still exits 0', async () => {
    const result = await graylane(['rules', 'validate', fixture('shadowed.yaml')]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('shadowed.yaml: valid (2 lanes, 0 groups, 1 warning)');
    expect(result.stdout).toMatch(/^ {2}documents\[0\]\.lanes\[1\]\.match\[0\]: warning: rule of lane "blue" can never match/m);
  });

  it('names the fields it ignores in documents of other systems (an MSE API answer)', async () => {
    const file = join(__dirname, '..', '..', 'rules', 'test', 'fixtures', 'mse-query-swimming-lane-answer.json');
    const result = await graylane(['rules', 'validate', file]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('mse-query-swimming-lane-answer.json: valid (1 lane, 0 groups, 13 warnings)');
    expect(result.stdout).toMatch(/^ {2}RequestId: warning: is ignored: a field of the API answer$/m);
    expect(result.stdout).toMatch(/^ {2}Data\.regionId: warning: is ignored: the region$/m);
  });

  it('refuses a regex a linear-time engine cannot run (a backreference), with the path', async () => {
    const result = await graylane(['rules', 'validate', fixture('backreference-regex.yaml')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/lanes\[0\]\.match\[0\]\.value: regex .* uses a backreference or lookaround/);
  });

  it('accepts a nested-quantifier regex: RE2 runs it in linear time (it used to hang the process)', async () => {
    const result = await graylane(['rules', 'validate', fixture('nested-quantifier-regex.yaml')]);
    expect(result.code).toBe(0);
  });

  it('checks every file even after a bad one, and exits 1 for an unreadable file', async () => {
    const result = await graylane(['rules', 'validate', 'missing.yaml', fixture('native.yaml')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^graylane: ENOENT: cannot read missing\.yaml: no such file or directory/);
    expect(result.stdout).toContain('native.yaml: valid');
  });

  it('prints one result per file with --json', async () => {
    const result = await graylane(['rules', 'validate', '--json', fixture('shadowed.yaml'), fixture('invalid.yaml'), 'missing.yaml']);
    expect(result.code).toBe(1);
    const [shadowed, invalid, missing] = JSON.parse(result.stdout) as { ok: boolean; issues: { path: string; severity: string }[]; error?: { code: string } }[];
    expect(shadowed).toMatchObject({ ok: true, issues: [{ path: 'documents[0].lanes[1].match[0]', severity: 'warning' }] });
    expect(invalid!.ok).toBe(false);
    expect(invalid!.issues.map((issue) => issue.path)).toEqual([
      'documents[0].lanes[0].match[0].name',
      'documents[0].lanes[0].match[1].operator',
      'documents[0].lanes[1].fallback[0]',
    ]);
    expect(missing).toMatchObject({ ok: false, issues: [], error: { code: 'ENOENT' } });
  });
});
