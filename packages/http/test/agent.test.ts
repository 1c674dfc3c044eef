import http from 'node:http';
import type https from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, isGraylaneError } from '@graylane/core';
import { ensureContextManager, getLane, withLane } from '@graylane/context';
import { createRouter } from '@graylane/router';
import type { LaneRouter, Selection } from '@graylane/router';
import { IDLE_SOCKET_TIMEOUT_MS, LaneAgent, LaneHttpsAgent } from '../src/index.js';
import { echoServers, instance } from '@graylane/testing';
import { get } from './support.js';

// A self-signed certificate for the host name `b`, valid until 2126; for these tests only.
const tls = { cert: readFileSync(join(__dirname, 'fixtures', 'b.crt')), key: readFileSync(join(__dirname, 'fixtures', 'b.key')) };

describe('LaneAgent', () => {
  const servers = echoServers();
  const selections: Selection[] = [];
  let router: LaneRouter;
  let ports: { base: number; gray: number; outside: number };
  let agent: LaneAgent;

  beforeAll(async () => {
    ensureContextManager();
    ports = { base: await servers.start('b-base'), gray: await servers.start('b-gray'), outside: await servers.start('outside') };
    router = createRouter(undefined, { strict: ['secure'], readyTimeoutMs: 1000 });
    router.update('b', [instance('b', ports.base, undefined), instance('b', ports.gray, 'gray')]);
    agent = new LaneAgent({ router, keepAlive: true, onSelect: (selection) => selections.push(selection) });
  });

  beforeEach(() => (selections.length = 0));

  afterAll(async () => {
    agent.destroy();
    router.close();
    await servers.close();
  });

  test('a request in the gray lane reaches B-gray, keeps Host: b, carries the lane, and reports the selection', async () => {
    const { body } = await withLane('gray', () => get('http://b/hello?x=1', { agent }));
    expect(body).toMatchObject({ server: 'b-gray', path: '/hello?x=1' });
    expect(body.headers).toMatchObject({ host: 'b', 'x-mse-tag': 'gray', baggage: 'lane=gray' });
    expect(selections).toEqual([expect.objectContaining({ service: 'b', requestedLane: 'gray', servedLane: 'gray', fallback: [] })]);
  });

  test('a request without a lane reaches base only and sends no lane carrier', async () => {
    for (let i = 0; i < 10; i++) {
      const { body } = await get('http://b/hello', { agent });
      expect(body.server).toBe('b-base');
      expect(body.headers['x-mse-tag']).toBeUndefined();
      expect(body.headers.baggage).toBeUndefined();
    }
  });

  test('a lane the callee lacks falls back to base, keeps the lane on the wire, and records the fallback', async () => {
    const { body } = await withLane('blue', () => get('http://b/hello', { agent }));
    expect(body.server).toBe('b-base');
    expect(body.headers['x-mse-tag']).toBe('blue');
    expect(selections[0]).toMatchObject({ servedLane: undefined, fallback: [{ lane: 'blue', reason: 'no-instance' }] });
  });

  test('other baggage entries survive whatever the header case, and the lane entry is written once', async () => {
    const { body } = await withLane('gray', () => get('http://b/x', { agent, headers: { Baggage: 'user=42,lane=old', 'X-User': 'u1' } }));
    expect(String(body.headers.baggage).split(',').sort()).toEqual(['lane=gray', 'user=42']);
    expect(body.headers['x-user']).toBe('u1');
  });

  test('stale carriers are removed in the base lane', async () => {
    const { body } = await get('http://b/x', { agent, headers: { 'x-mse-tag': 'stale', baggage: 'lane=stale,user=42' } });
    expect(body.headers['x-mse-tag']).toBeUndefined();
    expect(body.headers.baggage).toBe('user=42');
  });

  test('hosts that are not services pass through untouched and get no lane carrier', async () => {
    const { body } = await withLane('gray', () => get(`http://127.0.0.1:${ports.outside}/x`, { agent, headers: { baggage: 'user=42' } }));
    expect(body.server).toBe('outside');
    expect(body.headers['x-mse-tag']).toBeUndefined();
    expect(body.headers.baggage).toBe('user=42');
    expect(selections).toEqual([]);
  });

  test('no instance at all emits error with the typed error naming service and lane', async () => {
    router.update('c', []);
    const error = await withLane('gray', () => get('http://c/x', { agent })).catch((e: unknown) => e);
    expect(isGraylaneError(error)).toBe(true);
    expect(error).toMatchObject({ code: ErrorCode.NO_INSTANCE, details: expect.objectContaining({ service: 'c', lane: 'gray' }) });
  });

  test('a strict lane without an instance emits the strict-lane error instead of falling back', async () => {
    await expect(withLane('secure', () => get('http://b/x', { agent }))).rejects.toMatchObject({ code: ErrorCode.STRICT_LANE });
  });

  test('a declared service waits for its first instance list', async () => {
    const declared = new LaneAgent({ router, services: ['late'] });
    setTimeout(() => router.update('late', [instance('late', ports.gray, 'gray')]), 50);
    const { body } = await withLane('gray', () => get('http://late/x', { agent: declared }));
    expect(body.server).toBe('b-gray');
    declared.destroy();
  });

  test('headers given as an array are already serialised: the request is still routed, without carriers', async () => {
    const { body } = await withLane('gray', () => get('http://b/x', { agent, headers: ['host', 'b', 'x-user', 'u1'] as unknown as http.OutgoingHttpHeaders }));
    expect(body).toMatchObject({ server: 'b-gray', headers: expect.objectContaining({ 'x-user': 'u1' }) });
    expect(body.headers['x-mse-tag']).toBeUndefined();
  });

  test('an onSelect that throws does not fail the request', async () => {
    const noisy = new LaneAgent({
      router,
      onSelect: () => {
        throw new Error('hook failure');
      },
    });
    expect((await get('http://b/x', { agent: noisy })).status).toBe(200);
    noisy.destroy();
  });

  test('a request destroyed while its instance is being selected closes like any destroyed request', async () => {
    const agent = new LaneAgent({ router, services: ['later'] });
    const req = http.get('http://later/x', { agent });
    const events: string[] = [];
    const closed = new Promise((resolve) => req.on('close', resolve));
    req.on('error', (error) => events.push(error.message));
    req.on('response', () => events.push('response'));
    req.destroy();
    router.update('later', [instance('later', ports.base, undefined)]);
    await closed;
    expect(events).toEqual(['socket hang up']);
    agent.destroy();
  });

  /** A router of its own for a test that closes it. */
  const ownRouter = (): LaneRouter => {
    const own = createRouter(undefined);
    own.update('b', [instance('b', ports.base, undefined), instance('b', ports.gray, 'gray')]);
    return own;
  };

  /**
   * Destroys `pool` once `count` connections to `name` are pending: in a microtask after the hook
   * that made the last of them returns, before any connect can answer (on a later turn).
   */
  const destroyWhenPending = (pool: LaneAgent, name: string, count: number): (() => number) => {
    const pending = () => (pool.sockets[name] ?? []).filter((s) => s.constructor.name === 'PendingConnection').length;
    let seen = 0;
    const create = pool.createConnection.bind(pool);
    pool.createConnection = (...args: Parameters<typeof create>) => {
      const made = create(...args);
      if (pending() === count) {
        seen = count;
        queueMicrotask(() => pool.destroy());
      }
      return made;
    };
    return () => seen;
  };

  test('an agent destroyed while a connection is being made ends the request with socket hang up', async () => {
    const own = ownRouter();
    const pool = new LaneAgent({ router: own, keepAlive: true });
    const seen = destroyWhenPending(pool, `127.0.0.1:${ports.gray}:`, 1);
    const req = withLane('gray', () => http.get('http://b/x', { agent: pool }));
    expect((await new Promise<Error>((resolve) => req.on('error', resolve))).message).toBe('socket hang up');
    expect(seen()).toBe(1);
    expect(pool.sockets).toEqual({});
    own.close();
  });

  test('an agent destroyed with two connections being made to one instance ends both requests', async () => {
    const own = ownRouter();
    const pool = new LaneAgent({ router: own, keepAlive: true });
    const seen = destroyWhenPending(pool, `127.0.0.1:${ports.gray}:`, 2);
    const reqs = [0, 1].map(() => withLane('gray', () => http.get('http://b/x', { agent: pool })));
    const outcomes = reqs.map((req) => new Promise<string>((resolve) => req.on('error', (e) => resolve(e.message)).on('response', () => resolve('response'))));
    expect(await Promise.all(outcomes)).toEqual(['socket hang up', 'socket hang up']);
    expect(seen()).toBe(2);
    expect(pool.sockets).toEqual({});
    own.close();
  });

  test('200 concurrent requests on a keep-alive pool of 2 sockets per instance each reach their own lane', async () => {
    const pool = new LaneAgent({ router, keepAlive: true, maxSockets: 2 });
    // Each time a socket is done with a request: the pool it belongs to, and how many sockets that
    // pool holds then (in use and free). Before connections with retries held their place, a pool
    // got 100 sockets here, and its free ones were then destroyed as over the limit.
    const pools = new Map<string, number>();
    pool.on('free', (_socket: unknown, options: http.ClientRequestArgs) => {
      const name = pool.getName(options);
      const held = (pool.sockets[name]?.length ?? 0) + (pool.freeSockets[name]?.length ?? 0);
      pools.set(name, Math.max(pools.get(name) ?? 0, held));
    });
    const lanes = ['gray', undefined, 'blue', 'gray'];
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        withLane(lanes[i % lanes.length], async () => {
          await new Promise((resolve) => setTimeout(resolve, i % 3));
          const { body } = await get('http://b/x', { agent: pool });
          return { lane: lanes[i % lanes.length], body, after: getLane() };
        }),
      ),
    );
    // Pooled by the instance reached, at most two sockets each, and kept alive there.
    expect([...pools.keys()].sort()).toEqual([`127.0.0.1:${ports.base}:`, `127.0.0.1:${ports.gray}:`].sort());
    for (const held of pools.values()) expect(held).toBeLessThanOrEqual(2);
    // A socket goes back to the pool once its response has ended, which may be a turn after the
    // last body was read: wait for it, bounded.
    const pooled = () => Object.keys(pool.freeSockets).sort();
    for (const deadline = Date.now() + 2000; pooled().length < 2 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(pooled()).toEqual([`127.0.0.1:${ports.base}:`, `127.0.0.1:${ports.gray}:`].sort());
    pool.destroy();
    for (const { lane, body, after } of results) {
      expect(body.server).toBe(lane === 'gray' ? 'b-gray' : 'b-base');
      expect(body.headers['x-mse-tag']).toBe(lane);
      expect(after).toBe(lane);
    }
  });
});

describe('LaneHttpsAgent', () => {
  const servers = echoServers();
  let router: LaneRouter;

  beforeAll(async () => {
    ensureContextManager();
    router = createRouter(undefined);
    router.update('b', [instance('b', await servers.startTls('b-base', tls), undefined), instance('b', await servers.startTls('b-gray', tls), 'gray')]);
  });

  afterAll(async () => {
    router.close();
    await servers.close();
  });

  test('connects to the instance in the lane and checks TLS against the service name', async () => {
    const agent = new LaneHttpsAgent({ router, ca: tls.cert, keepAlive: true });
    const { body } = await withLane('gray', () => get('https://b/secure', { agent }));
    expect(body).toMatchObject({ server: 'b-gray', servername: 'b', headers: expect.objectContaining({ host: 'b', 'x-mse-tag': 'gray' }) });
    agent.destroy();
  });

  test('a certificate not valid for the service name is refused', async () => {
    const agent = new LaneHttpsAgent({ router, ca: tls.cert });
    await expect(get('https://b/secure', { agent, servername: 'not-b' } as https.RequestOptions)).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    agent.destroy();
  });
});

describe('LaneAgent idle connections', () => {
  /** A server answering JSON, with its idle timeout, noting how long each connection lived. */
  async function idleServer(keepAliveTimeout: number): Promise<{ server: http.Server; port: number; lived: number[] }> {
    const lived: number[] = [];
    const server = http.createServer((req, res) => res.end(JSON.stringify({ server: 'idle', path: req.url, headers: req.headers })));
    server.keepAliveTimeout = keepAliveTimeout;
    server.on('connection', (socket) => {
      const opened = Date.now();
      socket.on('close', () => lived.push(Date.now() - opened));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { server, port: (server.address() as { port: number }).port, lived };
  }

  test('a kept-alive connection is retired by the agent, before the instance would close it (regression #12)', async () => {
    // The instance keeps idle connections 60 s and sends `Keep-Alive: timeout=60`: the agent's own
    // timeout (150 ms here, 4 s by default) closes the connection first.
    const { server, port, lived } = await idleServer(60_000);
    const router = createRouter(undefined);
    router.update('b', [instance('b', port, undefined)]);
    const agent = new LaneAgent({ router, keepAlive: true, timeout: 150 });
    try {
      await get('http://b/x', { agent });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(lived).toHaveLength(1);
      expect(lived[0]).toBeLessThan(450);
      expect((new LaneAgent({ router, keepAlive: true }) as unknown as { options: { timeout?: number } }).options.timeout).toBe(IDLE_SOCKET_TIMEOUT_MS);
    } finally {
      agent.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test("an instance's Keep-Alive: timeout=2 retires its connection after 1 s, under the default timeout", async () => {
    const { server, port, lived } = await idleServer(2_000);
    const router = createRouter(undefined);
    router.update('b', [instance('b', port, undefined)]);
    const agent = new LaneAgent({ router, keepAlive: true });
    try {
      const started = Date.now();
      await get('http://b/x', { agent });
      while (lived.length === 0 && Date.now() - started < 3_000) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(lived).toHaveLength(1);
      expect(lived[0]).toBeGreaterThanOrEqual(900);
      expect(lived[0]).toBeLessThan(1_800); // the agent closed it, 1 s before the instance's 2 s
    } finally {
      agent.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
