#!/usr/bin/env node
// `npm run pack:all`: until the packages are on the registry, the one command that builds every
// publishable package, packs each into a tarball and prints the line that installs them.
//
//   npm run pack:all                        # tarballs in <tmpdir>/graylane-packs
//   npm run pack:all -- --dest ./tarballs   # elsewhere
//   npm run pack:all -- --no-build          # already built (the consumer test does this)
//   npm run pack:all -- --publish-dry-run   # and `npm publish --dry-run` each tarball (CI)
//
// Also an ES module: the consumer test imports `publishablePackages` and `packAll`.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Every package under packages/ that is not private: what a release publishes. */
export function publishablePackages() {
  const dir = join(root, 'packages');
  return readdirSync(dir)
    .map((name) => ({ dir: join(dir, name), manifest: JSON.parse(readFileSync(join(dir, name, 'package.json'), 'utf8')) }))
    .filter((p) => !p.manifest.private)
    .map((p) => ({ name: p.manifest.name, version: p.manifest.version, dir: p.dir }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Packs every publishable package into `dest` (emptied first). Returns the tarballs' absolute
 * paths by package name. `build: true` builds them first with turbo.
 */
export function packAll({ dest, build = true }) {
  const packages = publishablePackages();
  if (build) {
    execFileSync('npx', ['turbo', 'run', 'build', '--output-logs=errors-only', ...packages.map((p) => `--filter=${p.name}`)], {
      cwd: root,
      stdio: 'inherit',
    });
  }
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  const out = execFileSync(
    'npm',
    ['pack', '--json', '--silent', '--pack-destination', dest, ...packages.flatMap((p) => ['-w', p.name])],
    { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const tarballs = new Map();
  for (const entry of JSON.parse(out)) tarballs.set(entry.name, join(dest, entry.filename));
  for (const p of packages) {
    if (!tarballs.has(p.name)) throw new Error(`npm pack produced no tarball for ${p.name}`);
  }
  return tarballs;
}

/** `npm publish --dry-run` of one tarball; throws (with npm's output) when npm refuses it. */
export function publishDryRun(tarball) {
  return execFileSync('npm', ['publish', '--dry-run', '--access', 'public', '--tag', 'dry-run', tarball], {
    cwd: dirname(tarball),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--dest');
  const dest = resolve(at >= 0 && args[at + 1] ? args[at + 1] : join(tmpdir(), 'graylane-packs'));
  const tarballs = packAll({ dest, build: !args.includes('--no-build') });
  if (args.includes('--publish-dry-run')) {
    for (const [name, tarball] of tarballs) {
      publishDryRun(tarball);
      console.error(`npm publish --dry-run ${name}: ok`);
    }
  }
  console.error(`${tarballs.size} tarballs in ${dest}. In each of your services, install them (with your own copy of @opentelemetry/api):`);
  console.log(`npm install ${[...tarballs.values()].join(' ')} @opentelemetry/api`);
}
