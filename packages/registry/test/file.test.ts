import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { mkdir, readdir, readFile, writeFile, utimes } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, type Instance, type Registry } from '@graylane/core';
import { createFileRegistry, type FileRecord } from '../src/index.js';
import { describeRegistryContract } from '@graylane/testing';

const FAST = { heartbeatMs: 100, staleMs: 1000, pollMs: 50 };

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'graylane-file-registry-'));
}

// Two registries on one directory: one registers (as another process would), one watches.
describeRegistryContract('file', async () => {
  const dir = tempDir();
  const registry = createFileRegistry({ dir, ...FAST });
  const registrant = createFileRegistry({ dir, ...FAST });
  return {
    registry,
    registrant,
    async cleanup() {
      await Promise.all([registry.close(), registrant.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}, { timeoutMs: 2000, settleMs: 250 });

describe('createFileRegistry', () => {
  let dir: string;
  const registries: Registry[] = [];
  const open = (options: Partial<Parameters<typeof createFileRegistry>[0]> = {}) => {
    const registry = createFileRegistry({ dir, ...FAST, ...options });
    registries.push(registry);
    return registry;
  };

  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(async () => {
    await Promise.all(registries.splice(0).map((r) => r.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  /** Subscribes and resolves with the first delivered list matching `predicate`. */
  function next(registry: Registry, service: string, predicate: (list: readonly Instance[]) => boolean, timeoutMs = 2000) {
    return new Promise<readonly Instance[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out')), timeoutMs);
      const off = registry.subscribe(service, (list) => {
        if (!predicate(list)) return;
        clearTimeout(timer);
        off?.();
        resolve(list);
      });
    });
  }

  it('writes one readable record per instance, and deletes it on deregister', async () => {
    const registry = open();
    await registry.register({ service: 'orders', host: '127.0.0.1', port: 8080, lane: 'gray', metadata: { zone: 'a' } });
    const file = join(dir, 'orders', '127.0.0.1_8080.json');
    const record = JSON.parse(await readFile(file, 'utf8')) as FileRecord;
    expect(record).toMatchObject({
      version: 1,
      service: 'orders',
      host: '127.0.0.1',
      port: 8080,
      lane: 'gray',
      weight: 1,
      healthy: true,
      enabled: true,
      pid: process.pid,
      metadata: { zone: 'a', 'graylane.io/lane': 'gray' },
    });
    expect(Date.parse(record.updatedAt)).not.toBeNaN();
    await registry.deregister({ service: 'orders', host: '127.0.0.1', port: 8080 });
    expect(await readdir(join(dir, 'orders'))).toEqual([]);
  });

  it('encodes service and host names into safe path segments', async () => {
    const registry = open();
    await registry.register({ service: '../evil/x', host: '::1', port: 1 });
    await registry.register({ service: '..', host: 'h', port: 1 });
    expect((await readdir(dir)).sort()).toEqual(['%2E%2E', '..%2Fevil%2Fx']);
    expect(await readdir(join(dir, '..%2Fevil%2Fx'))).toEqual(['%3A%3A1_1.json']);
    await expect(next(open(), '../evil/x', (l) => l.length === 1)).resolves.toMatchObject([{ host: '::1' }]);
  });

  it('watches a directory that does not exist yet', async () => {
    dir = join(dir, 'not', 'yet');
    const watcher = open();
    const listed = next(watcher, 'orders', (l) => l.length === 1);
    await open().register({ service: 'orders', host: 'h', port: 1 });
    await expect(listed).resolves.toHaveLength(1);
  });

  it('skips corrupt, half-written, foreign and temporary files without throwing', async () => {
    const serviceDir = join(dir, 'orders');
    await mkdir(serviceDir, { recursive: true });
    await writeFile(join(serviceDir, 'corrupt_1.json'), '{"version":1,"serv');
    await writeFile(join(serviceDir, 'array_1.json'), '[]');
    await writeFile(join(serviceDir, 'other_1.json'), JSON.stringify({ version: 1, service: 'users', host: 'h', port: 1, pid: process.pid, hostname: 'x' }));
    await writeFile(join(serviceDir, 'h_2.json.123.1.tmp'), 'partial');
    await open().register({ service: 'orders', host: 'h', port: 3 });
    const list = await next(open(), 'orders', (l) => l.length > 0);
    expect(list.map((i) => i.id)).toEqual(['h:3']);
  });

  it('skips FIFOs, sockets and directories named *.json with a diagnostic, and never blocks on them', async () => {
    const serviceDir = join(dir, 'orders');
    await mkdir(serviceDir, { recursive: true });
    // More FIFOs than libuv has threads: one blocking open each would freeze every file operation.
    const fifos = Array.from({ length: 6 }, (_, n) => join(serviceDir, `fifo_${n}.json`));
    for (const fifo of fifos) execFileSync('mkfifo', [fifo]);
    await mkdir(join(serviceDir, 'folder_1.json'));
    const socket = createServer();
    await new Promise<void>((resolve) => socket.listen(join(serviceDir, 'socket_1.json'), resolve));
    try {
      await open().register({ service: 'orders', host: 'h', port: 3, lane: 'gray' });
      const messages: string[] = [];
      const started = Date.now();
      const list = await next(open({ onDiagnostic: (message) => messages.push(message) }), 'orders', (l) => l.length > 0, 3000);
      expect(list.map((i) => [i.id, i.lane])).toEqual([['h:3', 'gray']]);
      expect(Date.now() - started).toBeLessThan(1500);
      // The process's file operations still run (no libuv thread is stuck in an open).
      await expect(readFile(join(dir, 'orders', 'h_3.json'), 'utf8')).resolves.toContain('"port": 3');
      expect(messages.filter((m) => m.includes('FIFO'))).toHaveLength(6);
      expect(messages.some((m) => m.includes('folder_1.json') && m.includes('a directory'))).toBe(true);
      expect(messages.some((m) => m.includes('socket_1.json') && m.includes('a socket'))).toBe(true);
      // Reported once per file, not on every poll.
      const count = messages.length;
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(messages).toHaveLength(count);
    } finally {
      socket.close();
      // Release any reader stuck on a FIFO (only a regression leaves one), so that the suite can end.
      for (const fifo of fifos) {
        try {
          closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
        } catch {
          // ENXIO: nobody reads it, as it should be.
        }
      }
    }
  });

  it('honours an operator taking an instance out of rotation by editing its file', async () => {
    await open().register({ service: 'orders', host: 'h', port: 1, lane: 'gray' });
    const watcher = open();
    await next(watcher, 'orders', (l) => l[0]?.enabled === true);
    const file = join(dir, 'orders', 'h_1.json');
    const record = JSON.parse(await readFile(file, 'utf8')) as FileRecord;
    await writeFile(file, JSON.stringify({ ...record, enabled: false }));
    await expect(next(watcher, 'orders', (l) => l[0]?.enabled === false)).resolves.toHaveLength(1);
  });

  it('drops an instance whose heartbeat is stale, and one whose process is gone', async () => {
    const serviceDir = join(dir, 'orders');
    await mkdir(serviceDir, { recursive: true });
    const record = (port: number, pid: number) =>
      JSON.stringify({ version: 1, service: 'orders', host: 'h', port, pid, hostname: hostname(), metadata: {} });
    await writeFile(join(serviceDir, 'h_1.json'), record(1, process.pid));
    await writeFile(join(serviceDir, 'h_2.json'), record(2, 2 ** 22 + 12345)); // beyond pid_max: no such process
    await writeFile(join(serviceDir, 'h_3.json'), record(3, process.pid));
    const old = new Date(Date.now() - 60_000);
    await utimes(join(serviceDir, 'h_3.json'), old, old);
    const list = await next(open(), 'orders', () => true);
    expect(list.map((i) => i.id)).toEqual(['h:1']);
  });

  it('keeps a live registration fresh with heartbeats and notifies only on real change', async () => {
    const registrant = open();
    await registrant.register({ service: 'orders', host: 'h', port: 1 });
    const lists: (readonly Instance[])[] = [];
    open().subscribe('orders', (list) => lists.push(list));
    await new Promise((resolve) => setTimeout(resolve, 1500)); // 1.5 staleMs of heartbeats and polls
    expect(lists.map((l) => l.length)).toEqual([1]);
  });

  it('rewrites a registration whose file was deleted by someone else', async () => {
    const registrant = open();
    await registrant.register({ service: 'orders', host: 'h', port: 1 });
    rmSync(join(dir, 'orders', 'h_1.json'));
    const watcher = open();
    await next(watcher, 'orders', (l) => l.length === 0);
    await expect(next(watcher, 'orders', (l) => l.length === 1)).resolves.toHaveLength(1);
  });

  it('validates its options', () => {
    expect(() => createFileRegistry({ dir: '' })).toThrow(expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }));
    expect(() => createFileRegistry({ dir: 'x', heartbeatMs: 1000, staleMs: 500 })).toThrow(/staleMs \(500\) must exceed heartbeatMs/);
    expect(() => createFileRegistry({ dir: 'x', pollMs: -1 })).toThrow(/pollMs/);
  });

  it('rejects use after close', async () => {
    const registry = open();
    await registry.close();
    await expect(registry.register({ service: 's', host: 'h', port: 1 })).rejects.toMatchObject({ code: ErrorCode.CLOSED });
    expect(() => registry.subscribe('s', () => {})).toThrow(expect.objectContaining({ code: ErrorCode.CLOSED }));
  });
});
