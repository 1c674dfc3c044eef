/**
 * graylane's benchmark runner: `npm run bench` (everything) or `npm run bench -- --quick` (a reduced
 * set, under 3 minutes). Runs a list of suites, each returning a partial result; the results are
 * deep-merged into `bench/results/latest.json` and printed as a markdown table with the machine,
 * the Node version and the date.
 *
 * Options: --quick, --only=micro,chain,memory (suite names; the other figures of latest.json are
 * kept), --rounds=N, --duration=S (chain seconds
 * per variant per round), --connections=N.
 *
 * `npm run bench -- soak [--minutes=N]` runs the soak alone (src/soak.ts; default 30 minutes); it is
 * never part of the other runs.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SUITES, type Row, type SuiteContext } from './suites.js';
import { soakSuite } from './soak.js';

const distDir = dirname(fileURLToPath(import.meta.url));
const resultsFile = join(distDir, '..', 'results', 'latest.json');

const { values, positionals } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    connections: { type: 'string' },
    minutes: { type: 'string' },
  },
  allowPositionals: true,
  strict: true,
});
const soaking = positionals[0] === 'soak';
if (positionals.length > (soaking ? 1 : 0)) {
  console.error(`unknown argument(s) ${positionals.join(' ')}; the only command is soak`);
  process.exit(2);
}
const suites = soaking ? [soakSuite(values.minutes ? Number(values.minutes) : 30)] : SUITES;

const quick = values.quick ?? false;
const only = soaking ? ['soak'] : values.only?.split(',').map((s) => s.trim()).filter(Boolean);
const unknown = only?.filter((name) => !suites.some((s) => s.name === name)) ?? [];
if (unknown.length > 0) {
  console.error(`unknown suite(s) ${unknown.join(', ')}; known: ${SUITES.map((s) => s.name).join(', ')}`);
  process.exit(2);
}
if (!(globalThis as { gc?: unknown }).gc) console.warn('warning: run with --expose-gc for exact memory figures (npm run bench does)');

const started = new Date();
const ctx: SuiteContext = {
  quick,
  distDir,
  rounds: values.rounds ? Number(values.rounds) : undefined,
  durationS: values.duration ? Number(values.duration) : undefined,
  connections: values.connections ? Number(values.connections) : undefined,
  log: (line) => console.log(`  [${((Date.now() - started.getTime()) / 1000).toFixed(0).padStart(3)}s] ${line}`),
};
const cpu = cpus();
const meta = {
  date: started.toISOString(),
  mode: quick ? 'quick' : 'full',
  command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  node: process.version,
  v8: process.versions.v8,
  platform: `${process.platform} ${process.arch}`,
  machine: { cpu: cpu[0]?.model.trim() ?? 'unknown', cores: cpu.length, memory_gb: Math.round((totalmem() / 2 ** 30) * 10) / 10 },
  /** 1-minute load average at the start and the end: other work on the machine skews every figure. */
  loadavg_start: Math.round(loadavg()[0]! * 100) / 100,
};
if (meta.loadavg_start > cpu.length / 2) {
  console.warn(`warning: load average ${meta.loadavg_start} on ${cpu.length} cores: other work is running, figures will be noisy`);
}
console.log(`graylane benchmarks (${meta.mode}) on ${meta.machine.cpu}, ${meta.machine.cores} cores, ${meta.machine.memory_gb} GB, Node ${meta.node}`);

// A partial run (--only) updates the figures of its suites in the last results and keeps the others.
let results: Record<string, unknown> = only && existsSync(resultsFile) ? { ...readPrevious(), meta } : { meta };
const rows: Row[] = [];
let failed = false;
for (const suite of suites) {
  if (only && !only.includes(suite.name)) continue;
  console.log(`\n▶ ${suite.name}: ${suite.description}`);
  const t0 = Date.now();
  try {
    const out = await suite.run(ctx);
    results = deepMerge(results, out.result);
    rows.push(...out.rows);
    console.log(`  ✓ ${suite.name} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } catch (error) {
    failed = true;
    console.error(`  ✗ ${suite.name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    results = deepMerge(results, { failures: { [suite.name]: String(error instanceof Error ? error.message : error) } });
  }
}
(results['meta'] as Record<string, unknown>)['seconds'] = Math.round((Date.now() - started.getTime()) / 1000);
(results['meta'] as Record<string, unknown>)['loadavg_end'] = Math.round(loadavg()[0]! * 100) / 100;

mkdirSync(dirname(resultsFile), { recursive: true });
writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);

console.log(`\n## graylane benchmarks: ${meta.mode} run, ${meta.date.slice(0, 10)}\n`);
console.log(`Machine: ${meta.machine.cpu}, ${meta.machine.cores} cores, ${meta.machine.memory_gb} GB RAM; Node ${meta.node} (${meta.platform}); \`${meta.command}\`, ${(results['meta'] as { seconds: number }).seconds} s; load average ${meta.loadavg_start} at the start, ${(results['meta'] as { loadavg_end: number }).loadavg_end} at the end\n`);
console.log('| figure | value | target | |');
console.log('| --- | ---: | --- | --- |');
for (const row of rows) {
  const verdict = row.met === undefined ? '' : row.met ? 'met' : '**missed**';
  console.log(`| ${row.name} | ${row.value} | ${row.target ?? ''} | ${verdict} |`);
}
console.log(`\nwritten to ${resultsFile}`);
process.exit(failed ? 1 : 0);

function readPrevious(): Record<string, unknown> {
  try {
    const previous = JSON.parse(readFileSync(resultsFile, 'utf8')) as Record<string, unknown>;
    for (const suite of only ?? []) delete (previous['failures'] as Record<string, unknown> | undefined)?.[suite];
    return previous;
  } catch {
    return {};
  }
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const prev = out[key];
    out[key] = isObject(prev) && isObject(value) ? deepMerge(prev, value) : value;
  }
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
