#!/usr/bin/env node
// The README's test command. Makes sure the Nacos test servers and the test brokers are there, runs the gates (type check
// of every workspace, lint), builds every workspace, runs each workspace's jest suites through
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
// The broker suites run against real brokers (Kafka in KRaft mode, RabbitMQ, Redis): install or
// resolve whatever is missing first. Without them the run fails, never skips.
try {
  const { prepareBrokers } = await import('./brokers/brokers.mjs');
  await prepareBrokers();
} catch (error) {
  console.error(`the test brokers are not available: ${error instanceof Error ? error.message : String(error)}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
// The gates: the type check of every workspace (tests included; swc does not type-check) and the
// lint. Cached by turbo on their inputs, so a warm run with nothing changed replays them. Each one
// that fails counts as one failure in the closing line, with its name and how to run it alone.
const gates = [
  { name: 'typecheck', alone: 'npm run typecheck', args: ['turbo', 'run', 'typecheck', '--continue', '--output-logs=errors-only'] },
  { name: 'lint', alone: 'npm run lint', args: ['turbo', 'run', 'lint:ts', '--output-logs=errors-only'] },
];
const gatesFailed = [];
for (const gate of gates) {
  const started = Date.now();
  const run = spawnSync('npx', gate.args, { cwd: root, stdio: 'inherit', env: process.env });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (run.status === 0) console.log(`gate ${gate.name}: passed (${seconds} s)`);
  else {
    gatesFailed.push(gate);
    console.error(`gate ${gate.name}: FAILED (${seconds} s); the errors are above; run it alone with \`${gate.alone}\``);
  }
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
const failures = [];
const files = existsSync(results) ? readdirSync(results).filter((f) => f.endsWith('.json')) : [];
for (const file of files) {
  const r = JSON.parse(readFileSync(join(results, file), 'utf8'));
  passed += r.passed;
  failed += r.failed;
  skipped += r.skipped;
  suitesFailed += r.suitesFailed;
  for (const failure of r.failures ?? []) failures.push(failure);
}
const runnerFailed = turbo.status !== 0 && failed === 0 && suitesFailed === 0;
if (runnerFailed) failed += 1; // a build or runner failure is a failure, never a silent pass
failed += gatesFailed.length; // a failed gate is a failure too
console.log('');
console.log(`${files.length} workspaces reported; ${suitesFailed} suites failed to run${skipped ? `; ${skipped} skipped` : ''}`);
if (gatesFailed.length > 0) console.log(`gates failed: ${gatesFailed.map((g) => `${g.name} (\`${g.alone}\`)`).join(', ')}`);
if (failures.length > 0) {
  // Repeated here, at the end, so that a log cut to its last lines still names what failed.
  console.log(`failed (${failures.length}):`);
  for (const { where, title, message } of failures) {
    console.log(`  ${where}: ${title}`);
    for (const line of message.split('\n')) console.log(`      ${line}`);
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(turbo.status === 0 && failed === 0 && suitesFailed === 0 ? 0 : 1);
