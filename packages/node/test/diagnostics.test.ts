import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '@graylane/core';
import type { Instance } from '@graylane/core';
import { createFileRegistry, createMemoryRegistry } from '@graylane/registry';
import { startGraylane } from '../src/index.js';
import type { Graylane, GraylaneLogger } from '../src/index.js';

/** A logger that keeps what it is told, level first. */
function recorder(): GraylaneLogger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (message) => lines.push(`info ${message}`),
    warn: (message) => lines.push(`warn ${message}`),
    error: (message) => lines.push(`error ${message}`),
  };
}

function listen(port = 0, host = '127.0.0.1'): Promise<http.Server> {
  const server = http.createServer((_req, res) => res.end('ok'));
  return new Promise((resolve) => server.listen(port, host, () => resolve(server)));
}

const portOf = (server: http.Server) => (server.address() as AddressInfo).port;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(predicate: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  for (let waited = 0; !predicate(); waited += 20) {
    if (waited > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const running: Graylane[] = [];
const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((g) => g.shutdown()));
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => (s.listening ? s.close(resolve) : resolve(undefined)))));
});

async function start(options: Parameters<typeof startGraylane>[0]): Promise<Graylane> {
  const graylane = await startGraylane({ drainMs: 0, ...options });
  running.push(graylane);
  return graylane;
}

describe('the start-up line', () => {
  test('one line at registration: who, where, which registry, and each dependency by lane', async () => {
    const registry = createMemoryRegistry();
    await registry.register({ service: 'orders', host: '10.0.0.1', port: 1 });
    await registry.register({ service: 'orders', host: '10.0.0.2', port: 1, lane: 'gray' });
    await registry.register({ service: 'users', host: '10.0.0.3', port: 1 });
    await registry.register({ service: 'users', host: '10.0.0.4', port: 1 });
    const logger = recorder();
    const graylane = await start({ service: 'payments', lane: 'gray', registry, dependencies: ['orders', 'users'], logger });
    const server = await listen();
    servers.push(server);
    await graylane.register({ server });
    expect(logger.lines).toEqual([
      `info graylane: payments[gray] registered at 127.0.0.1:${portOf(server)} (memory registry); depends on orders: 2 instances (base, gray); users: 2 instances (base x2)`,
    ]);
    await graylane.register({ port: 9999 });
    expect(logger.lines[1]).toBe('info graylane: payments[gray] also registered at 127.0.0.1:9999');
  });

  test("names the file registry's folder", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'graylane-startup-'));
    try {
      const logger = recorder();
      const graylane = await start({ service: 'payments', registry: createFileRegistry({ dir }), logger });
      await graylane.register({ host: '127.0.0.1', port: 19112 });
      expect(logger.lines).toEqual([`info graylane: payments[base] registered at 127.0.0.1:19112 (file registry ${dir})`]);
      await graylane.shutdown();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('goes to stderr when no logger is given', async () => {
    const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const graylane = await start({ service: 'payments', registry: createMemoryRegistry() });
      await graylane.register({ port: 19113 });
      expect(write.mock.calls.map(([text]) => String(text))).toEqual(['graylane: payments[base] registered at 127.0.0.1:19113 (memory registry)\n']);
    } finally {
      write.mockRestore();
    }
  });

  test('is off with startupLog: false or GRAYLANE_STARTUP_LOG=off; warnings stay', async () => {
    const logger = recorder();
    const quiet = await start({ service: 'a', registry: createMemoryRegistry(), dependencies: ['b'], logger, startupLog: false });
    await quiet.register({ port: 1 });
    process.env['GRAYLANE_STARTUP_LOG'] = 'off';
    try {
      const fromEnv = await start({ service: 'c', registry: createMemoryRegistry(), logger });
      await fromEnv.register({ port: 2 });
    } finally {
      delete process.env['GRAYLANE_STARTUP_LOG'];
    }
    expect(logger.lines).toEqual([expect.stringMatching(/^warn graylane: b has no instance/)]);
  });

  test('logger: false silences everything', async () => {
    const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const graylane = await start({ service: 'a', registry: createMemoryRegistry(), dependencies: ['b'], logger: false });
      await graylane.register({ port: 1 });
      graylane.router.knows('orders');
      await sleep(1100);
      expect(write).not.toHaveBeenCalled();
    } finally {
      write.mockRestore();
    }
  });
});

describe('warnings', () => {
  test('a dependency with no instance once the first lists are in, then when it goes and comes back', async () => {
    const registry = createMemoryRegistry();
    const logger = recorder();
    await start({ service: 'payments', registry, dependencies: ['orders'], logger });
    expect(logger.lines).toEqual([
      'warn graylane: orders has no instance in the memory registry: calls from payments[base] to it fail (GRAYLANE_ERR_NO_INSTANCE) until one registers. Is it running, and registered in the same registry?',
    ]);
    const orders = { service: 'orders', host: '10.0.0.1', port: 1 };
    await registry.register(orders);
    await until(() => logger.lines.length === 2, 'the recovery');
    expect(logger.lines[1]).toBe('info graylane: orders has instances again: 1 instance (base)');
    await registry.deregister(orders);
    await until(() => logger.lines.length === 3, 'the second warning');
    expect(logger.lines[2]).toBe('warn graylane: orders has no instance any more in the memory registry: calls from payments[base] to it fail until one registers');
  });

  test('a dependency with gray instances only', async () => {
    const registry = createMemoryRegistry();
    await registry.register({ service: 'orders', host: '10.0.0.1', port: 1, lane: 'gray' });
    const logger = recorder();
    await start({ service: 'payments', registry, dependencies: ['orders'], logger });
    expect(logger.lines).toEqual([
      'warn graylane: orders has no base instance (1 instance (gray)): calls from payments[base] in base, and in lanes orders has no instance of, fail until one registers',
    ]);
  });

  test('a call to a host that looks like a service the router does not know, once per host', async () => {
    const logger = recorder();
    const graylane = await start({ service: 'payments', registry: createMemoryRegistry(), logger });
    for (const host of ['orders', 'orders', 'example.com', 'localhost', '10.0.0.1', '8080']) expect(graylane.router.knows(host)).toBe(false);
    await until(() => logger.lines.length > 0, 'the warning');
    await sleep(200);
    expect(logger.lines).toEqual([
      "warn graylane: a call from payments[base] to the host orders went out unrouted: orders is not a service graylane watches, so no instance was picked and no lane was sent (DNS decides where it goes). If orders is a service, add it to the dependencies of startGraylane, or to the adapter's services option",
    ]);
    graylane.router.knows('orders');
    await sleep(1100);
    expect(logger.lines).toHaveLength(1);
  });

  test('no warning for a host an adapter declared (the router watches it right after asking)', async () => {
    const registry = createMemoryRegistry();
    await registry.register({ service: 'orders', host: '10.0.0.1', port: 1 });
    const logger = recorder();
    const graylane = await start({ service: 'payments', registry, logger });
    // What an adapter with `services: ['orders']` does.
    expect(graylane.router.knows('orders')).toBe(false);
    const selection = await graylane.router.selectAsync('orders', undefined);
    expect(selection.instance.host).toBe('10.0.0.1');
    await sleep(1100);
    expect(logger.lines).toEqual([]);
  });

  test('the router handed out is the router: lists, selection, updates', async () => {
    const graylane = await start({ service: 'payments', registry: createMemoryRegistry(), logger: false });
    const instance = { service: 'orders', host: '10.0.0.9', port: 1 } as const;
    const { createInstance } = await import('@graylane/core');
    graylane.router.update('orders', [createInstance(instance)]);
    expect(graylane.router.knows('orders')).toBe(true);
    expect(graylane.router.instances('orders').map((i: Instance) => i.host)).toEqual(['10.0.0.9']);
    expect(graylane.router.select('orders', 'gray').instance.host).toBe('10.0.0.9');
  });
});

describe('register({ server }) and listen errors', () => {
  test('rejects with the listen error when the port is in use, and registers nothing', async () => {
    const taken = await listen();
    servers.push(taken);
    const registry = createMemoryRegistry();
    const graylane = await start({ service: 'payments', registry, logger: false });
    const server = http.createServer();
    server.listen(portOf(taken), '127.0.0.1');
    const error = await graylane.register({ server }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: ErrorCode.CONFIG_INVALID,
      message: `graylane.register: the server is not listening: listen failed: listen EADDRINUSE: address already in use 127.0.0.1:${portOf(taken)}`,
      details: expect.objectContaining({ code: 'EADDRINUSE', port: portOf(taken) }),
      cause: expect.objectContaining({ code: 'EADDRINUSE' }),
    });
    const listed = await new Promise<readonly Instance[]>((resolve) => {
      const off = registry.subscribe('payments', (list) => {
        queueMicrotask(off);
        resolve(list);
      });
    });
    expect(listed).toEqual([]);
  });

  // Regression: Express 5 calls the listen callback with the error; register then threw
  // "not listening on a TCP port yet", which hid the EADDRINUSE.
  test('called from an Express 5 listen callback that got an error, says the listen failed', async () => {
    const taken = await listen();
    servers.push(taken);
    const graylane = await start({ service: 'payments', registry: createMemoryRegistry(), logger: false });
    const server = http.createServer();
    // What express 5's app.listen(port, host, callback) does.
    const registered = new Promise<unknown>((resolve) => {
      const callback = () => resolve(graylane.register({ server }).catch((e: unknown) => e));
      server.once('error', callback);
      server.listen(portOf(taken), '127.0.0.1', callback);
    });
    const error = await registered;
    expect(error).toMatchObject({ code: ErrorCode.CONFIG_INVALID, message: expect.stringMatching(/^graylane\.register: the server is not listening: .*listen failed before register was called.*EADDRINUSE/) });
    expect((error as Error).message).not.toMatch(/TCP port yet/);
  });

  test('waits for a server still starting (a host name being looked up)', async () => {
    const logger = recorder();
    const graylane = await start({ service: 'payments', registry: createMemoryRegistry(), logger });
    const server = http.createServer();
    servers.push(server);
    server.listen(0, 'localhost');
    const registration = await graylane.register({ server });
    expect(registration.port).toBe(portOf(server));
    expect(logger.lines).toEqual([expect.stringContaining(`registered at`)]);
  });

  test('refuses a server on a Unix socket, saying what to pass instead', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'graylane-sock-'));
    try {
      const graylane = await start({ service: 'payments', registry: createMemoryRegistry(), logger: false });
      const server = await new Promise<http.Server>((resolve) => {
        const s = http.createServer();
        s.listen(join(dir, 's.sock'), () => resolve(s));
      });
      servers.push(server);
      await expect(graylane.register({ server })).rejects.toMatchObject({
        code: ErrorCode.CONFIG_INVALID,
        message: expect.stringContaining('a pipe or Unix socket, not a TCP port: pass { host, port } to register'),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
