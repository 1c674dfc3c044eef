import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ErrorCode, type Instance } from '@graylane/core';
import { createFileRegistry, defaultFileRegistryDir } from '../src/index.js';

const posix = process.platform !== 'win32';
const uid = process.getuid?.();

describe('defaultFileRegistryDir', () => {
  it('is GRAYLANE_REGISTRY_DIR when set, resolved from the working directory', () => {
    expect(defaultFileRegistryDir({ GRAYLANE_REGISTRY_DIR: '/srv/registry', XDG_RUNTIME_DIR: '/run/user/1' })).toBe('/srv/registry');
    expect(defaultFileRegistryDir({ GRAYLANE_REGISTRY_DIR: ' rel/dir ' })).toBe(resolve('rel/dir'));
  });

  it('is under XDG_RUNTIME_DIR when set, else a per-user folder of the temporary folder', () => {
    expect(defaultFileRegistryDir({ XDG_RUNTIME_DIR: '/run/user/1000' })).toBe('/run/user/1000/graylane/registry');
    expect(defaultFileRegistryDir({ GRAYLANE_REGISTRY_DIR: ' ', XDG_RUNTIME_DIR: 'relative' })).toBe(
      join(tmpdir(), uid === undefined ? 'graylane' : `graylane-${uid}`, 'registry'),
    );
  });

  it('does not depend on the working directory', () => {
    const before = defaultFileRegistryDir({});
    const cwd = process.cwd();
    try {
      process.chdir(tmpdir());
      expect(defaultFileRegistryDir({})).toBe(before);
    } finally {
      process.chdir(cwd);
    }
  });
});

(posix ? describe : describe.skip)('createFileRegistry() in the default folder', () => {
  const saved = { ...process.env };
  let root: string;
  let privateRoot: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'graylane-default-dir-'));
    delete process.env['GRAYLANE_REGISTRY_DIR'];
    delete process.env['XDG_RUNTIME_DIR'];
    process.env['TMPDIR'] = root;
    privateRoot = join(root, `graylane-${uid}`);
  });
  afterEach(() => {
    process.env = { ...saved };
    rmSync(root, { recursive: true, force: true });
  });

  it('creates a folder only the user can open, and says where it is', async () => {
    const registry = createFileRegistry();
    try {
      expect(registry.dir).toBe(join(privateRoot, 'registry'));
      expect(statSync(privateRoot).mode & 0o777).toBe(0o700);
    } finally {
      await registry.close();
    }
  });

  it('is found by two registries created from different working directories', async () => {
    const cwd = process.cwd();
    const dirs = [mkdtempSync(join(root, 'a-')), mkdtempSync(join(root, 'b-'))];
    process.chdir(dirs[0]!);
    const registrant = createFileRegistry({ pollMs: 50 });
    process.chdir(dirs[1]!);
    const watcher = createFileRegistry({ pollMs: 50 });
    process.chdir(cwd);
    try {
      expect(watcher.dir).toBe(registrant.dir);
      await registrant.register({ service: 'orders', host: '127.0.0.1', port: 9201, lane: 'gray' });
      const list = await new Promise<readonly Instance[]>((done) => {
        const off = watcher.subscribe('orders', (instances) => {
          if (instances.length === 0) return;
          queueMicrotask(off);
          done(instances);
        });
      });
      expect(list.map((i) => [i.port, i.lane])).toEqual([[9201, 'gray']]);
    } finally {
      process.chdir(cwd);
      await Promise.all([registrant.close(), watcher.close()]);
    }
  });

  it('uses XDG_RUNTIME_DIR when set', async () => {
    const runtime = mkdtempSync(join(root, 'run-'));
    process.env['XDG_RUNTIME_DIR'] = runtime;
    const registry = createFileRegistry();
    try {
      expect(registry.dir).toBe(join(runtime, 'graylane', 'registry'));
      expect(statSync(join(runtime, 'graylane')).mode & 0o777).toBe(0o700);
    } finally {
      await registry.close();
    }
  });

  it('makes a folder of the user that others may read private', async () => {
    mkdirSync(privateRoot);
    chmodSync(privateRoot, 0o755);
    const registry = createFileRegistry();
    await registry.close();
    expect(statSync(privateRoot).mode & 0o777).toBe(0o700);
  });

  it('refuses a folder others may write to, naming it and the way out', () => {
    mkdirSync(privateRoot);
    chmodSync(privateRoot, 0o777);
    expect(() => createFileRegistry()).toThrow(
      expect.objectContaining({
        code: ErrorCode.CONFIG_INVALID,
        message: `file registry: the default folder ${privateRoot} may be written by other users (mode 777); remove it, or set GRAYLANE_REGISTRY_DIR to a folder of your own`,
      }),
    );
  });

  it('refuses a symbolic link in place of the folder', () => {
    const elsewhere = mkdtempSync(join(root, 'elsewhere-'));
    symlinkSync(elsewhere, privateRoot);
    expect(() => createFileRegistry()).toThrow(/the default folder .* is not a directory \(a symbolic link or a file\)/);
  });

  it('leaves a GRAYLANE_REGISTRY_DIR as the user made it', async () => {
    const own = join(root, 'shared');
    process.env['GRAYLANE_REGISTRY_DIR'] = own;
    const registry = createFileRegistry();
    try {
      expect(registry.dir).toBe(own);
      await registry.register({ service: 'orders', host: '127.0.0.1', port: 9202 });
      expect(statSync(join(own, 'orders')).isDirectory()).toBe(true);
    } finally {
      await registry.close();
    }
  });
});
