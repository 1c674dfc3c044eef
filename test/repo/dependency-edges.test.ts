import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const script = join(__dirname, '..', '..', 'scripts', 'check-deps.mjs');

function check(root?: string) {
  const env = { ...process.env };
  if (root) env.CHECK_DEPS_ROOT = root;
  else delete env.CHECK_DEPS_ROOT;
  return spawnSync(process.execPath, [script], { encoding: 'utf8', env });
}

test('package dependency edges follow docs/adr/0001-package-layout.md (scripts/check-deps.mjs)', () => {
  const result = check();
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
});

describe('check-deps on a monorepo that breaks each rule', () => {
  let root: string;
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  const pkg = (name: string, fields: Record<string, unknown>) =>
    write(`packages/${name}/package.json`, JSON.stringify({ name: `@graylane/${name}`, version: '0.1.0', ...fields }));

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'graylane-check-deps-'));
    write('package.json', JSON.stringify({ name: 'fixture', private: true, workspaces: ['packages/*'], devDependencies: { jest: '30.0.0' } }));
    // core <-> rules: a cycle; rules lists zod and never imports it; core imports yaml undeclared.
    pkg('core', { dependencies: { '@graylane/rules': '0.1.0' } });
    write('packages/core/src/index.ts', "import { parse } from 'yaml';\nimport type { Rule } from '@graylane/rules';\nexport const x: Rule = parse('a');\n");
    write('packages/core/test/core.test.ts', "import { expect } from 'jest';\nimport fc from 'fast-check';\n");
    pkg('rules', { dependencies: { '@graylane/core': '0.1.0', zod: '^4.0.0' } });
    write('packages/rules/src/index.ts', "export type { Core } from '@graylane/core';\nexport type Rule = string;\n");
    // router takes the private test kit as a dependency and imports it from src/.
    pkg('testing', { private: true });
    write('packages/testing/src/index.ts', 'export const t = 1;\n');
    pkg('router', { dependencies: { '@graylane/testing': '0.1.0' } });
    write('packages/router/src/index.ts', "export { t } from '@graylane/testing';\n");
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  test('fails naming the missing, unused and cyclic dependencies', () => {
    const result = check(root);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('@graylane/core (packages/core/src/index.ts): imports yaml, which package.json does not declare');
    expect(result.stderr).toContain('@graylane/core (packages/core/test/core.test.ts): the tests import fast-check');
    expect(result.stderr).not.toContain('the tests import jest'); // the root's tooling is declared
    expect(result.stderr).toContain('@graylane/rules: dependency zod is imported nowhere in src/ (unused dependency)');
    expect(result.stderr).toContain('dependency cycle between workspaces: @graylane/core -> @graylane/rules -> @graylane/core');
  });

  test('fails when the private test kit is a dependency or imported from src/', () => {
    const result = check(root);
    expect(result.stderr).toContain('@graylane/router: @graylane/testing is private (never published): a devDependency only');
    expect(result.stderr).toContain('@graylane/router (packages/router/src/index.ts): src/ imports the private test kit @graylane/testing (tests only)');
    expect(result.stderr).not.toContain('@graylane/testing:'); // the kit itself is fine
  });
});

describe('check-deps: peer ranges name only tested majors', () => {
  let root: string;
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'graylane-check-peers-'));
    write('package.json', JSON.stringify({ name: 'fixture', private: true, workspaces: ['packages/*', 'test/consumer'] }));
    const peers = { express: '^4.18.0 || ^5.0.0', undici: '>=6.20.0', axios: '^1.7.0', '@nestjs/core': '^11.0.0 || ^12.0.0', 'reflect-metadata': '^0.2.0' };
    write('packages/web/package.json', JSON.stringify({ name: '@graylane/web', version: '0.1.0', peerDependencies: peers, devDependencies: { axios: '^1.13.0' } }));
    write('packages/web/src/index.ts', 'export const x = 1;\n');
    write('test/consumer/package.json', JSON.stringify({ name: '@graylane/consumer-test', private: true }));
    // Installs express 5 only, and Nest through a template called for 11 and 12.
    write(
      'test/consumer/test/consumer.test.ts',
      "const deps = ['express@^5.1.0', 'reflect-metadata@^0.2.0'];\nconst nest = (name: string, major: number) => [`@nestjs/core@^${major}`];\nnestProject('nest11', 11);\nnestProject('nest12', 12);\n",
    );
    write('package-lock.json', JSON.stringify({ packages: { 'node_modules/axios': { version: '1.13.2' } } }));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  test('names a major the range admits that nothing installs, and a range open upwards', () => {
    const result = check(root);
    expect(result.status).toBe(1);
    const problems = result.stderr.split('\n').filter((line) => line.startsWith('- @graylane/web: peer'));
    expect(problems).toEqual([
      '- @graylane/web: peer express "^4.18.0 || ^5.0.0" admits express 4, which nothing tests (tested majors: 5); test it in test/consumer or narrow the range',
      '- @graylane/web: peer undici ">=6.20.0": ">=6.20.0" admits every major from 6 on, untested ones included (tested majors: none)',
    ]);
    // axios 1 (the lock, for the workspace's own suites), Nest 11 and 12 (the template), reflect-metadata 0.2: tested.
  });
});
