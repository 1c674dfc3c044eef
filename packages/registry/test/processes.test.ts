import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { buildSync } from 'esbuild';
import type { Instance, Registry } from '@graylane/core';
import { createFileRegistry } from '../src/index.js';

// The child runs the registry's TypeScript sources, bundled once with esbuild (tsup's engine).
let work: string;
let child: string;
const children: ChildProcess[] = [];

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'graylane-processes-'));
  child = join(work, 'register-child.cjs');
  buildSync({
    entryPoints: [join(__dirname, 'fixtures/register-child.ts')],
    outfile: child,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    alias: { '@graylane/core': join(__dirname, '../../core/src/index.ts') },
    logLevel: 'silent',
  });
});

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

async function startChild(
  dir: string,
  service: string,
  port: number,
  lane?: string,
  spawnOptions: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<ChildProcess> {
  const proc = spawn(process.execPath, [child, dir, service, String(port), ...(lane ? [lane] : [])], {
    stdio: ['ignore', 'pipe', 'inherit'],
    ...spawnOptions,
  });
  children.push(proc);
  const [data] = (await Promise.race([
    once(proc.stdout!, 'data'),
    once(proc, 'exit').then(() => {
      throw new Error('child exited before registering');
    }),
  ])) as [Buffer];
  expect(data.toString()).toContain('registered');
  return proc;
}

/** Resolves with the time from now until a delivered list satisfies `predicate`. */
function timeUntil(registry: Registry, service: string, predicate: (list: readonly Instance[]) => boolean, timeoutMs = 5000): Promise<number> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not seen within ${timeoutMs} ms`)), timeoutMs);
    const off = registry.subscribe(service, (list) => {
      if (!predicate(list)) return;
      clearTimeout(timer);
      queueMicrotask(() => off());
      resolve(performance.now() - start);
    });
  });
}

describe('file registry across real processes', () => {
  let dir: string;
  let watcher: Registry;

  beforeEach(() => {
    dir = mkdtempSync(join(work, 'registry-'));
    // Default heartbeat and staleness: the SIGKILL case must be caught by the pid check.
    watcher = createFileRegistry({ dir });
  });
  afterEach(() => watcher.close());

  it('sees instances registered by other processes, with their lanes', async () => {
    await Promise.all([startChild(dir, 'orders', 9001), startChild(dir, 'orders', 9002, 'gray')]);
    await timeUntil(watcher, 'orders', (list) =>
      list.length === 2 && list.some((i) => i.port === 9002 && i.lane === 'gray') && list.some((i) => i.port === 9001 && i.lane === undefined),
    );
  }, 15_000);

  it('stops listing a process that got SIGTERM within 2 s', async () => {
    const proc = await startChild(dir, 'orders', 9003, 'gray');
    await timeUntil(watcher, 'orders', (list) => list.length === 1);
    const gone = timeUntil(watcher, 'orders', (list) => list.length === 0);
    const exited = once(proc, 'exit');
    proc.kill('SIGTERM');
    await expect(gone).resolves.toBeLessThan(2000);
    expect(await exited).toEqual([0, null]); // it exited by itself, after deregistering
    expect(readdirSync(join(dir, 'orders'))).toEqual([]);
  }, 15_000);

  it('stops listing a process killed with SIGKILL within 2 s, though it could not deregister', async () => {
    const [killed] = await Promise.all([startChild(dir, 'orders', 9004, 'gray'), startChild(dir, 'orders', 9005)]);
    await timeUntil(watcher, 'orders', (list) => list.length === 2);
    const gone = timeUntil(watcher, 'orders', (list) => list.length === 1 && list[0]!.port === 9005);
    killed!.kill('SIGKILL');
    await expect(gone).resolves.toBeLessThan(2000);
  }, 15_000);
});

describe('the default file registry across real processes', () => {
  const saved = { ...process.env };
  let root: string;

  beforeEach(() => {
    root = mkdtempSync(join(work, 'tmp-'));
    // A private temporary folder stands for the user's: nothing touches the real one.
    delete process.env['GRAYLANE_REGISTRY_DIR'];
    delete process.env['XDG_RUNTIME_DIR'];
    process.env['TMPDIR'] = root;
  });
  afterEach(() => {
    process.env = { ...saved };
  });

  // Regression: the default was `.graylane/registry` under each process's working directory, so
  // services started from two directories never saw each other and gray traffic went to base.
  it('is shared by processes started from different working directories', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    const [first, second] = [mkdtempSync(join(work, 'cwd-a-')), mkdtempSync(join(work, 'cwd-b-'))];
    await Promise.all([
      startChild('-', 'orders', 9101, undefined, { cwd: first, env }),
      startChild('-', 'orders', 9102, 'gray', { cwd: second, env }),
    ]);
    const watcher = createFileRegistry({ pollMs: 50 });
    try {
      expect(watcher.dir).toBe(join(root, `graylane-${process.getuid!()}`, 'registry'));
      await timeUntil(watcher, 'orders', (list) => list.length === 2 && list.some((i) => i.port === 9102 && i.lane === 'gray'));
      expect(readdirSync(join(watcher.dir, 'orders')).sort()).toEqual(['127.0.0.1_9101.json', '127.0.0.1_9102.json']);
    } finally {
      await watcher.close();
    }
  }, 15_000);
});
