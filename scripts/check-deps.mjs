#!/usr/bin/env node
// Checks the dependency edges of the packages (docs/adr/0001-package-layout.md):
// - the pure bottom packages import nothing from OpenTelemetry, HTTP clients, frameworks or Nacos;
// - the outbound core (@graylane/outbound) sits below the client adapters: it imports only core,
//   router and context of graylane's packages, and no HTTP client or framework;
// - adapters never import each other; nothing imports the bootstrap (@graylane/node), except the
//   graylane CLI, an application like the examples, which reads the environment as services do;
// - @opentelemetry/api and framework/client packages are peer dependencies, never dependencies;
// - every @graylane/* or third-party import in src/ is declared in the package's package.json.
// Exits 1 listing every violation.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PURE = new Set(['core', 'rules', 'matcher', 'router', 'registry']);
const ADAPTERS = new Set(['axios', 'express', 'fetch', 'nest', 'nacos', 'http']);
const PEER_ONLY = new Set(['@opentelemetry/api', 'axios', 'express', '@nestjs/common', '@nestjs/core', 'undici', 'rxjs', 'reflect-metadata']);
const IMPURE = ['@opentelemetry/', 'axios', 'express', '@nestjs/', 'undici', '@grpc/', 'nacos'];
/** The outbound core, and the only graylane packages it may import (docs/adr/0007-outbound-core.md). */
const OUTBOUND = 'outbound';
const OUTBOUND_IMPORTS = new Set(['core', 'router', 'context']);
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
      if (target === 'node' && !BOOTSTRAP_USERS.has(name)) problems.push(`${where}: nothing may import the bootstrap @graylane/node`);
      if (ADAPTERS.has(name) && target && ADAPTERS.has(target)) problems.push(`${where}: adapter imports adapter ${bare}`);
    }
  }
}

function* sourceFiles(dir) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (/\.(ts|mts|cts)$/.test(entry)) yield path;
  }
}

if (problems.length > 0) {
  console.error(`check-deps: ${problems.length} problem(s):\n- ${problems.join('\n- ')}`);
  process.exit(1);
}
console.log('check-deps: dependency edges OK');
