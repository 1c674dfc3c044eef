// Every tarball as npm would publish it: publint (strict), are-the-types-wrong, npm publish --dry-run,
// and the files a published package must have. Tarballs come from global-setup.cjs (scripts/pack.mjs).
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const here = join(__dirname, '..');
const root = join(here, '..', '..');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);
const packs = process.env['GRAYLANE_CONSUMER_PACKS'] ?? '';

const publishable = readdirSync(join(root, 'packages'))
  .map((d) => ({ dir: d, manifest: JSON.parse(readFileSync(join(root, 'packages', d, 'package.json'), 'utf8')) }))
  .filter((p) => !p.manifest.private);

const tarballOf = (name: string, version: string) => join(packs, `${name.replace('@', '').replace('/', '-')}-${version}.tgz`);

/** Runs a command; resolves with its output, rejects with the output in the message (a finding is shown, not just an exit code). */
async function check(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(cmd, args, { cwd: packs, maxBuffer: 16 * 1024 * 1024 });
    return stdout + stderr;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}

test('every publishable package was packed', () => {
  expect(publishable.length).toBeGreaterThan(10);
  const tarballs = readdirSync(packs).filter((f) => f.endsWith('.tgz')).sort();
  expect(tarballs).toEqual(publishable.map((p) => tarballOf(p.manifest.name, p.manifest.version).slice(packs.length + 1)).sort());
});

describe.each(publishable.map((p) => [p.manifest.name as string, p] as const))('%s', (name, p) => {
  const tarball = tarballOf(name, p.manifest.version);

  test.concurrent('has what a published package needs', async () => {
    const { stdout } = await run('tar', ['tzf', tarball]);
    const files = stdout.trim().split('\n');
    expect(files).toEqual(expect.arrayContaining(['package/LICENSE', 'package/README.md', 'package/package.json', 'package/dist/index.js', 'package/dist/index.cjs', 'package/dist/index.d.ts', 'package/dist/index.d.cts']));
    expect(files.filter((f) => f.startsWith('package/src/') || f.startsWith('package/test/'))).toEqual([]);
    const { stdout: manifestText } = await run('tar', ['xzf', tarball, '-O', 'package/package.json']);
    const m = JSON.parse(manifestText);
    expect(m.license).toBe('Apache-2.0');
    expect(m.repository).toEqual({ type: 'git', url: expect.stringMatching(/^git\+https:\/\//), directory: `packages/${p.dir}` });
    expect(m.engines?.node).toBe('>=20.6');
    expect(m.sideEffects).toBe(false);
    expect(m.files).toEqual(expect.arrayContaining(['dist', 'README.md', 'LICENSE']));
    const { stdout: readme } = await run('tar', ['xzf', tarball, '-O', 'package/README.md']);
    expect(readme).not.toMatch(/\]\(\.\.?\//); // relative links are dead on npmjs.com
    for (const [dep, range] of Object.entries({ ...m.dependencies }) as [string, string][]) {
      if (dep.startsWith('@graylane/')) expect(range).toBe(m.version); // released together (.changeset/config.json)
    }
  });

  test.concurrent('publint --strict finds nothing', async () => {
    const out = await check(bin('publint'), ['run', tarball, '--strict']);
    expect(out).toContain('All good!');
  });

  test.concurrent('are-the-types-wrong finds nothing (node10, node16 CJS and ESM, bundler)', async () => {
    const out = await check(bin('attw'), [tarball, '--format', 'json']);
    const report = JSON.parse(out.slice(out.indexOf('{')));
    expect(report.problems).toBeDefined();
    expect(report.problems).toEqual({}); // problem kind -> occurrences; empty when the types resolve everywhere
  });

  test.concurrent('npm publish --dry-run accepts it', async () => {
    const out = await check('npm', ['publish', '--dry-run', '--access', 'public', '--tag', 'dry-run', tarball]);
    expect(out).toContain(`${name}@${p.manifest.version}`);
  });
});
