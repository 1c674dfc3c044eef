import http from 'node:http';
import { PassThrough } from 'node:stream';
import type { Duplex } from 'node:stream';
import { ErrorCode } from '@graylane/core';
import { ensureContextManager, withLane } from '@graylane/context';
import { isConnectFailure } from '@graylane/outbound';
import { createRouter } from '@graylane/router';
import type { Selection } from '@graylane/router';
import { deadPort, describeRetryContract, echoServers, instance } from '@graylane/testing';
import { LaneAgent } from '../src/index.js';
import { connectWithRetries } from '../src/routing.js';
import { get } from './support.js';

/** Sends `method` to `url` through `agent` (with a small body unless GET or HEAD); resolves with the response body. */
function send(url: string, method: string, agent: http.Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(method === 'GET' || method === 'HEAD' ? undefined : 'payload');
  });
}

describeRetryContract('LaneAgent', {
  // The agent connects before the request writes; a reset after that is the caller's request's.
  retriesResets: false,
  client(router, options) {
    const agent = new LaneAgent({ router, ...options, keepAlive: true });
    return {
      call: (url, method) => send(url, method, agent),
      close: async () => agent.destroy(),
    };
  },
});

describe('LaneAgent retry specifics', () => {
  const servers = echoServers();
  let dead: number;
  let live: number;

  beforeAll(async () => {
    ensureContextManager();
    dead = await deadPort();
    live = await servers.start('live');
  });

  afterAll(() => servers.close());

  test('a keep-alive socket that reached another instance after a retry is not pooled under the first one', async () => {
    const router = createRouter(undefined);
    router.update('b', [instance('b', dead, 'gray'), instance('b', live, undefined)]);
    const selections: Selection[] = [];
    const agent = new LaneAgent({ router, keepAlive: true, onSelect: (s) => selections.push(s) });
    const { body } = await withLane('gray', () => get('http://b/x', { agent }));
    expect(body.server).toBe('live');
    expect(selections.map((s) => s.instance.port)).toEqual([dead, live]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(Object.keys(agent.freeSockets)).toEqual([]);
    // A call that needs no retry pools its socket as usual.
    await get('http://b/x', { agent });
    await new Promise((resolve) => setImmediate(resolve));
    expect(Object.keys(agent.freeSockets)).toEqual([`127.0.0.1:${live}:`]);
    agent.destroy();
  });

  test('a connection that does not complete within the request timeout is retried on the next instance', async () => {
    // No address reliably swallows a connect everywhere, so sockets are stand-ins here.
    const sockets: PassThrough[] = [];
    const targets: unknown[] = [];
    const moved = new WeakSet<Duplex>();
    const next = instance('b', 2, undefined);
    let answered = 0;
    const connected = new Promise<[Error | null, Duplex | undefined]>((resolve) =>
      connectWithRetries(
        (target) => {
          targets.push({ host: target.host, port: target.port });
          return sockets[sockets.push(new PassThrough()) - 1]!;
        },
        { host: '10.0.0.1', port: 1, timeout: 100 },
        // As an armed call does: the next instance for a connection failure (the timeout is one), none otherwise.
        {
          retryAfter: (error) => (isConnectFailure(error) ? { instance: next, service: 'b', requestedLane: undefined, servedLane: undefined, fallback: [] } : undefined),
          failure: (error) => error,
          answered: () => void answered++,
        },
        (error, socket) => resolve([error, socket]),
        moved,
      ),
    );
    sockets[0]!.emit('timeout');
    await new Promise((resolve) => setImmediate(resolve)); // the destroyed socket's error comes on the next tick
    sockets[1]!.emit('connect');
    const [error, socket] = await connected;
    expect(error).toBeNull();
    expect(socket).toBe(sockets[1]);
    expect(answered).toBe(1); // the connection made is told once, for the instance that took it
    expect(sockets[0]!.destroyed).toBe(true);
    expect(targets).toEqual([{ host: '10.0.0.1', port: 1 }, { host: '127.0.0.1', port: 2 }]);
    expect(moved.has(sockets[1]!)).toBe(true);
  });

  test('invalid retry options fail at construction with CONFIG_INVALID', () => {
    const router = createRouter(undefined);
    expect(() => new LaneAgent({ router, retry: { budgetMs: -1 } })).toThrow(expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }));
  });
});
