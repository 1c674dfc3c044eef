#!/usr/bin/env node
// The README's test command. Makes sure the Nacos test servers are built, builds every workspace, runs each workspace's jest suites through
// turbo, then prints one line summing them: "N passed, N failed". Exit code is non-zero when any
// suite failed or any workspace did not report (a crashed runner never counts as green).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// The Nacos suites run against real servers (r-nacos and the Java Nacos server; the mixed chain also
// runs a Java service): build whatever is missing first, in parallel, with progress, so no suite's
// set-up waits on a cargo or Maven build. Without them the run fails, never skips.
try {
  const { prepareTestServers } = await import('./nacos/servers.mjs');
  await prepareTestServers();
} catch (error) {
  console.error(`the Nacos test servers are not available: ${error instanceof Error ? error.message : String(error)}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const results = join(root, '.test-results');
rmSync(results, { recursive: true, force: true });

const extra = process.argv.slice(2);
const turbo = spawnSync(
  'npx',
  ['turbo', 'run', 'test', '--concurrency=1', '--continue', '--output-logs=full', ...extra],
  { cwd: root, stdio: 'inherit', env: process.env },
);

let passed = 0;
let failed = 0;
let skipped = 0;
let suitesFailed = 0;
const files = existsSync(results) ? readdirSync(results).filter((f) => f.endsWith('.json')) : [];
for (const file of files) {
  const r = JSON.parse(readFileSync(join(results, file), 'utf8'));
  passed += r.passed;
  failed += r.failed;
  skipped += r.skipped;
  suitesFailed += r.suitesFailed;
}
const runnerFailed = turbo.status !== 0 && failed === 0 && suitesFailed === 0;
if (runnerFailed) failed += 1; // a build or runner failure is a failure, never a silent pass
console.log('');
console.log(`${files.length} workspaces reported; ${suitesFailed} suites failed to run${skipped ? `; ${skipped} skipped` : ''}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(turbo.status === 0 && failed === 0 && suitesFailed === 0 ? 0 : 1);
