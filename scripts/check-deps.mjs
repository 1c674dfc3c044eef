#!/usr/bin/env node
// Checks the dependency edges of the packages (docs/adr/0001-package-layout.md):
// - the pure bottom packages import nothing from OpenTelemetry, HTTP clients, frameworks or Nacos;
// - the outbound core (@graylane/outbound) sits below the client adapters: it imports only core,
//   router and context of graylane's packages, and no HTTP client or framework;
// - adapters never import each other; nothing imports the bootstrap (@graylane/node), except the
//   graylane CLI, an application like the examples, which reads the environment as services do;
// - @opentelemetry/api and framework/client packages are peer dependencies, never dependencies;
// - every @graylane/* or third-party import in src/ is declared in the package's package.json, every
//   import in test/ in it or the root's devDependencies; every dependency of a published package is
//   imported by its src/ (no unused dependency);
// - no cycle between workspaces through their @graylane/* dependencies;
// - the private test kit @graylane/testing is a devDependency only, never a dependency or peer of
//   any workspace, and no package's src/ imports it (it is never packed or published).
// - every major a published package's peer range admits is tested: installed by the consumer test
//   (test/consumer/test/*.ts) or, for the workspace's own suites, resolved in package-lock.json for a
//   workspace that depends on it; a range open upwards (>=6) admits majors nobody has tested.
// Exits 1 listing every violation.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';

// CHECK_DEPS_ROOT: another monorepo to check (test/repo/dependency-edges.test.ts runs it on fixtures).
const root = process.env.CHECK_DEPS_ROOT ?? join(dirname(fileURLToPath(import.meta.url)), '..');
const PURE = new Set(['core', 'rules', 'matcher', 'router', 'registry']);
const ADAPTERS = new Set(['axios', 'express', 'fetch', 'nest', 'nacos', 'http', 'amqp', 'kafka', 'bullmq']);
const PEER_ONLY = new Set(['@opentelemetry/api', 'axios', 'express', '@nestjs/common', '@nestjs/core', 'undici', 'rxjs', 'reflect-metadata']);
const IMPURE = ['@opentelemetry/', 'axios', 'express', '@nestjs/', 'undici', '@grpc/', 'nacos'];
/** The outbound core, and the only graylane packages it may import (docs/adr/0007-outbound-core.md). */
const OUTBOUND = 'outbound';
const OUTBOUND_IMPORTS = new Set(['core', 'router', 'context']);
/** The private test kit (packages/testing): tests only, never published. */
const TESTING = '@graylane/testing';
/** Packages that may import the bootstrap @graylane/node: applications, not libraries. */
const BOOTSTRAP_USERS = new Set(['cli']);
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

const problems = [];
const packagesDir = join(root, 'packages');
for (const name of readdirSync(packagesDir)) {
  const dir = join(packagesDir, name);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const deps = pkg.dependencies ?? {};
  const declared = new Set([...Object.keys(deps), ...Object.keys(pkg.peerDependencies ?? {})]);
  for (const dep of Object.keys(deps)) {
    if (PEER_ONLY.has(dep)) problems.push(`${pkg.name}: ${dep} must be a peerDependency, not a dependency`);
  }
  for (const file of sourceFiles(join(dir, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = match[1] ?? match[2];
      if (spec.startsWith('.') || builtins.has(spec)) continue;
      const bare = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
      const where = `${pkg.name} (${file.slice(root.length + 1)})`;
      if (!declared.has(bare)) problems.push(`${where}: imports ${bare}, which package.json does not declare`);
      const target = bare.startsWith('@graylane/') ? bare.slice('@graylane/'.length) : undefined;
      if (PURE.has(name) && (target ? !PURE.has(target) : IMPURE.some((prefix) => bare.startsWith(prefix)))) {
        problems.push(`${where}: pure package imports ${bare} (no OpenTelemetry, HTTP clients, frameworks, gRPC or adapters down here)`);
      }
      if (name === OUTBOUND && (target ? !OUTBOUND_IMPORTS.has(target) : IMPURE.some((prefix) => bare.startsWith(prefix) && prefix !== '@opentelemetry/'))) {
        problems.push(`${where}: the outbound core imports ${bare} (only @graylane/core, router and context, and no HTTP client or framework)`);
      }
      if (bare === TESTING && pkg.name !== TESTING) problems.push(`${where}: src/ imports the private test kit ${TESTING} (tests only)`);
      if (target === 'node' && !BOOTSTRAP_USERS.has(name)) problems.push(`${where}: nothing may import the bootstrap @graylane/node`);
      if (ADAPTERS.has(name) && target && ADAPTERS.has(target)) problems.push(`${where}: adapter imports adapter ${bare}`);
    }
  }
}

// Unused and missing dependencies, every workspace (packages, examples, test, bench): what src/
// imports must be a dependency or peer; what a dependency lists must be imported by src/ (a
// dependency nothing imports is installed by every user for nothing); tests may also import the
// workspace's devDependencies and the root's tooling. Cycles: no workspace may depend, through
// @graylane/* dependencies of any kind, on itself.
const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const rootTools = new Set(Object.keys(rootPkg.devDependencies ?? {}));
const workspaces = [];
for (const pattern of rootPkg.workspaces) {
  const base = pattern.endsWith('/*') ? join(root, pattern.slice(0, -2)) : undefined;
  const dirs = base ? readdirSync(base).map((entry) => join(base, entry)) : [join(root, pattern)];
  for (const dir of dirs) {
    try {
      workspaces.push({ dir, pkg: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) });
    } catch {
      // not a workspace (no package.json)
    }
  }
}
const IMPORT = /(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|(?:^|\n)\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)/g;
function importsOf(dir, skip = []) {
  const found = new Map();
  let files;
  try {
    files = [...sourceFiles(dir, skip)];
  } catch {
    return found;
  }
  for (const file of files) {
    for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const spec = match[1] ?? match[2] ?? match[3] ?? match[4];
      if (spec.startsWith('.') || spec.startsWith('/') || builtins.has(spec) || spec.startsWith('node:')) continue;
      const bare = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
      if (!found.has(bare)) found.set(bare, file.slice(root.length + 1));
    }
  }
  return found;
}
const byName = new Map(workspaces.map((w) => [w.pkg.name, w]));
for (const { dir, pkg } of workspaces) {
  if (pkg.name === '@graylane/consumer-test') continue; // installs the packed tarballs; checks them itself
  const deps = Object.keys(pkg.dependencies ?? {});
  const peers = Object.keys(pkg.peerDependencies ?? {});
  const devs = Object.keys(pkg.devDependencies ?? {});
  const isTestWorkspace = pkg.name === '@graylane/e2e';
  const srcDir = isTestWorkspace ? dir : join(dir, 'src');
  const srcImports = importsOf(srcDir, ['node_modules', 'consumer', 'java-service', 'dist']);
  const testImports = isTestWorkspace ? new Map() : importsOf(join(dir, 'test'));
  const runtime = new Set([...deps, ...peers]);
  if (runtime.has(TESTING)) problems.push(`${pkg.name}: ${TESTING} is private (never published): a devDependency only`);
  for (const [bare, file] of srcImports) {
    if (bare === pkg.name) continue;
    if (!runtime.has(bare) && !(isTestWorkspace && (devs.includes(bare) || rootTools.has(bare)))) {
      if (!file.startsWith('packages/')) problems.push(`${pkg.name} (${file}): imports ${bare}, which package.json does not declare (missing dependency)`);
    }
  }
  for (const [bare, file] of testImports) {
    if (bare === pkg.name || runtime.has(bare) || devs.includes(bare) || rootTools.has(bare)) continue;
    problems.push(`${pkg.name} (${file}): the tests import ${bare}, which neither package.json nor the root's devDependencies declare (missing dependency)`);
  }
  // Private workspaces (examples, test, bench) are never installed by users, and start some of their
  // dependencies as processes rather than importing them: only published packages are held to it.
  for (const dep of pkg.private ? [] : deps) {
    if (srcImports.has(dep)) continue;
    problems.push(`${pkg.name}: dependency ${dep} is imported nowhere in ${isTestWorkspace ? 'test/' : 'src/'} (unused dependency)`);
  }
}
const state = new Map(); // name -> 'visiting' | 'done'
function visit(name, path) {
  if (state.get(name) === 'done') return;
  if (state.get(name) === 'visiting') {
    problems.push(`dependency cycle between workspaces: ${[...path.slice(path.indexOf(name)), name].join(' -> ')}`);
    return;
  }
  state.set(name, 'visiting');
  const { pkg } = byName.get(name);
  const edges = Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies, ...pkg.devDependencies }).filter((d) => byName.has(d));
  for (const next of edges) visit(next, [...path, name]);
  state.set(name, 'done');
}
for (const name of byName.keys()) visit(name, []);

// Peer ranges against the majors that are tested. The consumer test installs its projects' packages
// with specs such as 'express@^4.21.0', or `@nestjs/core@^${major}` in a function called for each
// major as nestProject('nest12-cjs', 12): each spec's majors count, a template's for every number
// passed to a *Project(...) call.
const tested = new Map(); // package name -> Set of majors ('5'; '0.2' below 1.0) -> where
function addTested(name, majors, where) {
  if (!tested.has(name)) tested.set(name, new Map());
  for (const major of majors) if (!tested.get(name).has(major)) tested.get(name).set(major, where);
}
const consumerTests = join(root, 'test', 'consumer', 'test');
let consumerFiles = [];
try {
  consumerFiles = [...sourceFiles(consumerTests)];
} catch {
  // no consumer test in this monorepo
}
for (const file of consumerFiles) {
  const text = readFileSync(file, 'utf8');
  const where = file.slice(root.length + 1);
  const projectMajors = [...text.matchAll(/\w+Project\(\s*'[^']*'\s*,\s*(\d+)\s*\)/g)].map((match) => match[1]);
  for (const match of text.matchAll(/['"`]((?:@[\w.-]+\/)?[\w.-]+)@([^'"`\s]+)['"`]/g)) {
    const [, name, spec] = match;
    const specs = spec.includes('${') ? projectMajors.map((major) => spec.replace(/\$\{\w+\}/, major)) : [spec];
    for (const one of specs) {
      const admitted = rangeMajors(one);
      if (admitted.majors) addTested(name, admitted.majors, where);
    }
  }
}
let lock = { packages: {} };
try {
  lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
} catch {
  // no lock file: only the consumer test counts
}
for (const { dir, pkg } of workspaces) {
  if (pkg.name === '@graylane/consumer-test') continue;
  const rel = dir.slice(root.length + 1);
  for (const name of Object.keys({ ...pkg.dependencies, ...pkg.devDependencies })) {
    const version = (lock.packages?.[`${rel}/node_modules/${name}`] ?? lock.packages?.[`node_modules/${name}`])?.version;
    if (version) addTested(name, [majorOf(version)], `package-lock.json (${pkg.name})`);
  }
}
for (const { pkg } of workspaces) {
  if (pkg.private) continue;
  for (const [name, range] of Object.entries(pkg.peerDependencies ?? {})) {
    const admitted = rangeMajors(range);
    const known = tested.get(name) ?? new Map();
    const list = [...known.keys()].join(', ') || 'none';
    if (admitted.problem) problems.push(`${pkg.name}: peer ${name} "${range}": ${admitted.problem} (tested majors: ${list})`);
    else for (const major of admitted.majors) {
      if (!known.has(major)) problems.push(`${pkg.name}: peer ${name} "${range}" admits ${name} ${major}, which nothing tests (tested majors: ${list}); test it in test/consumer or narrow the range`);
    }
  }
}

/** `5` for 5.1.0; `0.2` for 0.2.2 (below 1.0 a caret range is one minor). */
function majorOf(version) {
  const [major, minor] = version.split('.');
  return major === '0' ? `0.${minor ?? 0}` : major;
}

/**
 * The majors an npm range admits ({ majors }), or why they cannot be listed ({ problem }): a set
 * with no upper bound, or a form this check does not read. Reads ^, ~, exact, X / X.x, and >=/>/</<=
 * comparator sets joined by ||.
 */
function rangeMajors(range) {
  const majors = new Set();
  for (const set of range.split('||').map((part) => part.trim())) {
    let low;
    let high;
    for (const comparator of set.split(/\s+/).filter(Boolean)) {
      const match = /^(\^|~|>=|>|<=|<|=)?v?(\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?(?:-[\w.]+)?$/.exec(comparator);
      if (!match) return { problem: `cannot read the range part ${JSON.stringify(comparator)}` };
      const [, op = '', majorText, minorText] = match;
      const major = Number(majorText);
      const minor = minorText === undefined || minorText === 'x' || minorText === '*' ? 0 : Number(minorText);
      const key = major === 0 ? (minorText === undefined || minorText === 'x' || minorText === '*' ? undefined : minor) : undefined;
      const point = { major, minor: key };
      if (op === '^' || op === '~' || op === '' || op === '=') {
        low = point;
        high = point;
      } else if (op === '>=' || op === '>') low = point;
      else if (op === '<=') high = point;
      else {
        // < X.0.0 stops below major X; < X.Y.Z (Y or Z > 0) still admits part of X
        const below = comparator.replace(/^</, '').split('.').slice(1).every((part) => part === undefined || /^0*$/.test(part));
        high = below ? { major: major - 1, minor: undefined } : point;
      }
    }
    if (low === undefined) return { problem: `the set ${JSON.stringify(set)} has no lower bound` };
    if (high === undefined) return { problem: `"${set}" admits every major from ${low.major === 0 ? `0.${low.minor ?? 0}` : low.major} on, untested ones included` };
    if (low.major === 0 && high.major === 0) {
      if (low.minor === undefined || high.minor === undefined) return { problem: `cannot list the 0.x minors of ${JSON.stringify(set)}` };
      for (let minor = low.minor; minor <= high.minor; minor++) majors.add(`0.${minor}`);
    } else {
      if (low.major === 0) return { problem: `"${set}" spans 0.x and later majors` };
      for (let major = low.major; major <= high.major; major++) majors.add(String(major));
    }
  }
  return { majors: [...majors] };
}

function* sourceFiles(dir, skip = []) {
  for (const entry of readdirSync(dir)) {
    if (skip.includes(entry)) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) yield* sourceFiles(path, skip);
    else if (/\.(ts|mts|cts)$/.test(entry)) yield path;
  }
}

if (problems.length > 0) {
  console.error(`check-deps: ${problems.length} problem(s):\n- ${problems.join('\n- ')}`);
  process.exit(1);
}
console.log('check-deps: dependency edges OK');
