import http from 'node:http';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '@graylane/core';
import type { Instance } from '@graylane/core';
import { createFileRegistry, createMemoryRegistry } from '@graylane/registry';
import { registryFromEnv, startGraylane } from '../src/index.js';

function listen(): Promise<http.Server> {
  const server = http.createServer((_req, res) => res.end('ok'));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function nextList(registry: ReturnType<typeof createMemoryRegistry>, service: string, predicate: (list: readonly Instance[]) => boolean): Promise<readonly Instance[]> {
  return new Promise((resolve) => {
    const stop = registry.subscribe(service, (list) => {
      if (predicate(list)) {
        stop();
        resolve(list);
      }
    });
  });
}

describe('startGraylane', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  test('registers the instance with its lane and waits for its dependencies', async () => {
    const registry = createMemoryRegistry();
    const server = await listen();
    await registry.register({ service: 'b', host: '127.0.0.1', port: 1, lane: undefined });
    const graylane = await startGraylane({ service: 'a', lane: 'gray', registry, dependencies: ['b'], drainMs: 0 });
    expect(graylane.router.select('b', 'gray').instance.port).toBe(1);

    const listed = nextList(registry, 'a', (list) => list.length === 1);
    const registration = await graylane.register({ server });
    expect(registration).toMatchObject({ service: 'a', host: '127.0.0.1', lane: 'gray' });
    const [instance] = await listed;
    expect(instance).toMatchObject({ service: 'a', lane: 'gray', metadata: expect.objectContaining({ 'alicloud.service.tag': 'gray' }) });

    const gone = nextList(registry, 'a', (list) => list.length === 0);
    await graylane.shutdown(server);
    await gone;
    expect(server.listening).toBe(false);
    await graylane.shutdown(server); // idempotent
  });

  test('reads the lane from the environment the way MSE and OpenSergo deployments set it', async () => {
    process.env['MSE_ALICLOUD_SERVICE_TAG'] = 'gray';
    const graylane = await startGraylane({ service: 'a', registry: createMemoryRegistry() });
    expect(graylane.lane).toBe('gray');
    await graylane.shutdown();
  });

  test('an invalid lane fails at start-up naming the variable', async () => {
    process.env['GRAYLANE_LANE'] = 'not a lane';
    await expect(startGraylane({ service: 'a', registry: createMemoryRegistry() })).rejects.toMatchObject({
      code: ErrorCode.LANE_INVALID,
      message: expect.stringContaining('GRAYLANE_LANE'),
    });
  });

  test('a dependency that never lists fails start-up with NOT_READY, naming it', async () => {
    const registry = { ...createMemoryRegistry(), subscribe: () => () => {} };
    await expect(startGraylane({ service: 'a', registry, dependencies: ['b'], routing: { readyTimeoutMs: 50 } })).rejects.toMatchObject({
      code: ErrorCode.NOT_READY,
      details: expect.objectContaining({ services: ['b'] }),
    });
  });

  test('coloring: a gray instance colors by default; base never; off by option, by lane, or by GRAYLANE_COLORING', async () => {
    const colorsWith = async (options: { lane?: string; coloring?: boolean | Record<string, boolean> }, env: Record<string, string> = {}) => {
      Object.assign(process.env, env);
      const graylane = await startGraylane({ service: 'a', registry: createMemoryRegistry(), logger: false, drainMs: 0, lanes: false, ...options });
      await graylane.shutdown();
      for (const name of Object.keys(env)) delete process.env[name];
      return graylane.coloring();
    };
    expect(await colorsWith({ lane: 'gray' })).toBe('gray');
    expect(await colorsWith({})).toBeUndefined();
    expect(await colorsWith({ lane: 'gray', coloring: false })).toBeUndefined();
    expect(await colorsWith({ lane: 'gray', coloring: { gray: false } })).toBeUndefined();
    expect(await colorsWith({ lane: 'gray', coloring: { canary: false } })).toBe('gray');
    expect(await colorsWith({ lane: 'gray' }, { GRAYLANE_COLORING: 'off' })).toBeUndefined();
    expect(await colorsWith({ lane: 'gray', coloring: true }, { GRAYLANE_COLORING: 'off' })).toBe('gray');
  });

  test('rejects a missing service name', async () => {
    await expect(startGraylane({ service: '' })).rejects.toMatchObject({ code: ErrorCode.CONFIG_INVALID });
  });
});

describe('registryFromEnv', () => {
  test('uses the file registry by default and Nacos when NACOS_SERVER_ADDR is set', async () => {
    const file = registryFromEnv({ GRAYLANE_REGISTRY_DIR: mkdtempSync(join(tmpdir(), 'graylane-')) });
    expect(file.kind).toBe('file');
    await file.close();
    const nacos = registryFromEnv({ NACOS_SERVER_ADDR: '127.0.0.1:1' });
    expect(nacos.kind).toBe('nacos');
    await nacos.close();
  });

  test("the file registry's default folder is the user's, not the working directory's", async () => {
    const root = mkdtempSync(join(tmpdir(), 'graylane-default-'));
    const saved = { ...process.env };
    const cwd = process.cwd();
    try {
      delete process.env['GRAYLANE_REGISTRY_DIR'];
      delete process.env['XDG_RUNTIME_DIR'];
      process.env['TMPDIR'] = root;
      const expected = join(root, `graylane-${process.getuid?.() ?? ''}`.replace(/-$/, ''), 'registry');
      const first = registryFromEnv({});
      process.chdir(root);
      const second = registryFromEnv({});
      expect([(first as { dir?: string }).dir, (second as { dir?: string }).dir]).toEqual([expected, expected]);
      await Promise.all([first.close(), second.close()]);
    } finally {
      process.chdir(cwd);
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('credentials must come in pairs', () => {
    expect(() => registryFromEnv({ NACOS_SERVER_ADDR: '127.0.0.1:1', NACOS_USERNAME: 'nacos' })).toThrow(
      expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }),
    );
  });
});

describe('handleSignals', () => {
  test('SIGTERM deregisters the instance before the process exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'graylane-signal-'));
    const registry = createFileRegistry({ dir });
    try {
      const child = spawn(process.execPath, [join(__dirname, 'fixtures', 'signal-child.cjs')], {
        env: { ...process.env, GRAYLANE_REGISTRY_DIR: dir },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const up = nextList(registry as never, 'sig', (list) => list.length === 1);
      await up;
      const down = nextList(registry as never, 'sig', (list) => list.length === 0);
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      await down;
      expect(await exited).toBe(0);
    } finally {
      await registry.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
