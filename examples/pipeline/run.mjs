#!/usr/bin/env node
// The gray release pipeline, run locally on the demo's processes (real processes, file registry,
// lane store in a file): create -> deploy gray -> verify -> disable (all base within 1 s) -> enable
// -> promote -> cleanup. Each step runs `graylane lane ...` as a pipeline would and checks its effect;
// the script exits 1 at the first step that fails. Build first: npx turbo run build --filter=@graylane/example-demo... --filter=@graylane/cli...
//
//   node examples/pipeline/run.mjs
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'packages', 'cli', 'dist', 'cli.js');
const demoDir = join(root, 'examples', 'demo');
const { launchDemo } = await import(join(demoDir, 'dist', 'launcher.js'));

const work = mkdtempSync(join(tmpdir(), 'graylane-pipeline-'));
const lanesFile = join(work, 'lanes.json');
const childEnv = { ...process.env, NACOS_SERVER_ADDR: '', GRAYLANE_LANES_FILE: lanesFile, GRAYLANE_LANES_DATA_ID: '' };
let demo;
let failed = false;

function step(name) {
  console.log(`\n== ${name}`);
}
function fail(message) {
  throw new Error(message);
}
/** Runs `graylane <args>`; resolves with its exit code and output. */
function graylane(args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env: { ...childEnv, GRAYLANE_REGISTRY_DIR: demo.registryDir } }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      console.log(`$ graylane ${args.join(' ')}   -> exit ${code}`);
      if (stdout.trim()) console.log(stdout.trimEnd().replace(/^/gm, '  '));
      if (stderr.trim()) console.log(stderr.trimEnd().replace(/^/gm, '  ! '));
      resolve({ code, stdout, stderr });
    });
  });
}
async function expectExit(args, code) {
  const result = await graylane(args);
  if (result.code !== code) fail(`graylane ${args.join(' ')} exited ${result.code}, expected ${code}`);
  return result;
}
/** The lanes of the hops of a gray-marked request, from its trail. */
async function grayTrail() {
  const response = await fetch(`${demo.url}/a?group=gray`);
  await response.arrayBuffer();
  const trail = response.headers.get('x-graylane-trail') ?? '';
  return [...trail.matchAll(/\[([^\]]+)\]/g)].map((m) => m[1]);
}
/** Milliseconds until `check` holds, polled every 10 ms, at most `timeoutMs`. */
async function until(check, timeoutMs) {
  const start = performance.now();
  for (;;) {
    if (await check()) return performance.now() - start;
    if (performance.now() - start > timeoutMs) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
const verifyArgs = () => ['lane', 'verify', 'gray', '--entry', demo.url, '--path', '/a?group=gray', '--expect', 'a,b,c', '--junit', join(work, 'verify.xml')];

try {
  step('start the demo on base (A, B, C; the gateway)');
  demo = await launchDemo({ distDir: join(demoDir, 'dist'), rulesPath: join(demoDir, 'rules.yaml'), port: 0, env: childEnv });
  await demo.stop('a-gray');
  await demo.stop('c-gray');

  step('create the lane');
  await expectExit(['lane', 'create', 'gray', '--rule', 'query:group=gray', '--services', 'a,c', '--expires', '2h', '--by', 'pipeline'], 0);
  await expectExit(['lane', 'status', 'gray'], 1); // nothing deployed yet: incomplete

  step('deploy gray (A and C in lane gray)');
  await demo.start('a-gray');
  await demo.start('c-gray');
  if ((await until(async () => (await graylane(['lane', 'status', 'gray'])).code === 0, 10_000)) === undefined) fail('the lane never became complete');
  if ((await until(async () => (await grayTrail()).join(',') === 'base,gray,base,gray', 5_000)) === undefined) fail('gray not reachable through the entry');

  step('verify');
  await expectExit(verifyArgs(), 0);

  step('disable: all traffic on base within 1 s');
  await expectExit(['lane', 'disable', 'gray', '--by', 'pipeline'], 0);
  const disabledAt = performance.now();
  const offMs = await until(async () => (await grayTrail()).every((lane) => lane === 'base'), 1_000);
  if (offMs === undefined) fail(`a gray-marked request still reached gray 1 s after disable: ${(await grayTrail()).join(' > ')}`);
  // A request that carries the tag itself is decided by each hop's own view of the lane store
  // (every process follows the file on its own), not only by the entry's: within the same second.
  const headerTrail = async () => {
    const response = await fetch(`${demo.url}/a`, { headers: { 'x-mse-tag': 'gray' } });
    await response.arrayBuffer();
    return response.headers.get('x-graylane-trail') ?? '';
  };
  const headerOffMs = await until(async () => !/\[gray\]/.test(await headerTrail()), Math.max(0, 1_000 - (performance.now() - disabledAt)));
  if (headerOffMs === undefined) fail(`a request carrying x-mse-tag: gray still reached gray 1 s after disable: ${await headerTrail()}`);
  // Both held by now (the last check's own request included).
  console.log(`  all hops base ${Math.round(performance.now() - disabledAt)} ms after disable returned`);
  await expectExit(verifyArgs(), 0); // base expected everywhere for a disabled lane

  step('enable');
  await expectExit(['lane', 'enable', 'gray', '--by', 'pipeline'], 0);
  if ((await until(async () => (await grayTrail()).join(',') === 'base,gray,base,gray', 1_000)) === undefined) fail('gray not back within 1 s of enable');
  await expectExit(verifyArgs(), 0);

  step('promote');
  await expectExit(['lane', 'promote', 'gray', '--by', 'pipeline'], 0);
  if (!JSON.parse(readFileSync(lanesFile, 'utf8')).lanes[0].promotedAt) fail('promote was not recorded');

  step('cleanup: gray instances shut down while cleanup waits for them to drain');
  const stopping = Promise.all([demo.stop('a-gray'), demo.stop('c-gray')]);
  const cleanup = await graylane(['lane', 'cleanup', 'gray', '--timeout', '30s', '--json']);
  await stopping;
  if (cleanup.code !== 0) fail(`cleanup exited ${cleanup.code}`);
  if (JSON.parse(readFileSync(lanesFile, 'utf8')).lanes.length !== 0) fail('the lane is still in the store');
  const left = JSON.parse((await expectExit(['lanes', '--json'], 0)).stdout).filter((instance) => instance.lane === 'gray');
  if (left.length > 0) fail(`gray instances remain registered: ${left.map((i) => `${i.service}@${i.address}`).join(', ')}`);
  if ((await grayTrail()).some((lane) => lane !== 'base')) fail('a gray-marked request reached gray after cleanup');

  console.log('\npipeline: every step passed');
} catch (error) {
  failed = true;
  console.error(`\npipeline FAILED: ${error.message}`);
} finally {
  await demo?.close();
  rmSync(work, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
