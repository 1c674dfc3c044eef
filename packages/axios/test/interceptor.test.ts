import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import axios from 'axios';
import { ErrorCode } from '@graylane/core';
import { ensureContextManager, withLane } from '@graylane/context';
import { createRouter } from '@graylane/router';
import type { LaneRouter } from '@graylane/router';
import { deadPort, describeRetryContract, instance } from '@graylane/testing';
import { attachLaneRouting } from '../src/index.js';

interface Seen {
  server: string;
  path: string;
  headers: http.IncomingHttpHeaders;
}

const servers: http.Server[] = [];

async function echoServer(name: string): Promise<number> {
  const server = http.createServer((req, res) => {
    const seen: Seen = { server: name, path: req.url ?? '', headers: req.headers };
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(seen));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('attachLaneRouting', () => {
  let router: LaneRouter;
  let ports: { base: number; gray: number; outside: number };
  const client = axios.create();

  beforeAll(async () => {
    ensureContextManager();
    ports = { base: await echoServer('b-base'), gray: await echoServer('b-gray'), outside: await echoServer('outside') };
    router = createRouter(undefined);
    router.update('b', [instance('b', ports.base, undefined), instance('b', ports.gray, 'gray')]);
    attachLaneRouting(client, { router });
  });

  afterAll(async () => {
    router.close();
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  });

  test('a request in the gray lane reaches B-gray and carries the lane', async () => {
    const { data, config } = await withLane('gray', () => client.get<Seen>('http://b/hello?x=1'));
    expect(data.server).toBe('b-gray');
    expect(data.path).toBe('/hello?x=1');
    expect(data.headers['x-mse-tag']).toBe('gray');
    expect(data.headers.baggage).toContain('lane=gray');
    expect(config.graylane).toMatchObject({ service: 'b', requestedLane: 'gray', servedLane: 'gray', fallback: [] });
  });

  test('a request without a lane reaches base only and sends no lane carrier', async () => {
    for (let i = 0; i < 10; i++) {
      const { data } = await client.get<Seen>('http://b/hello');
      expect(data.server).toBe('b-base');
      expect(data.headers['x-mse-tag']).toBeUndefined();
    }
  });

  test('a lane the callee lacks falls back to base, keeps the lane on the wire, and records the fallback', async () => {
    const { data, config } = await withLane('blue', () => client.get<Seen>('http://b/hello'));
    expect(data.server).toBe('b-base');
    expect(data.headers['x-mse-tag']).toBe('blue');
    expect(config.graylane?.servedLane).toBeUndefined();
    expect(config.graylane?.fallback).toEqual([{ lane: 'blue', reason: 'no-instance' }]);
  });

  test('other baggage entries survive and the lane entry is written once', async () => {
    const { data } = await withLane('gray', () => client.get<Seen>('http://b/hello', { headers: { baggage: 'user=42,lane=old' } }));
    const entries = String(data.headers.baggage).split(',').map((e) => e.trim());
    expect(entries).toContain('user=42');
    expect(entries.filter((e) => e.startsWith('lane='))).toEqual(['lane=gray']);
  });

  test('baseURL + relative URL is joined the way axios joins it', async () => {
    const scoped = axios.create({ baseURL: 'http://b/api/' });
    attachLaneRouting(scoped, { router });
    const { data } = await withLane('gray', () => scoped.get<Seen>('/v1/items'));
    expect(data).toMatchObject({ server: 'b-gray', path: '/api/v1/items' });
  });

  test('every URL shape keeps its path, query, fragment, port and user info when retargeted', async () => {
    const cases: Array<[string, string]> = [
      ['http://b', '/'],
      ['http://b?x=1', '/?x=1'],
      ['HTTP://B/Upper/Case?Q=V', '/Upper/Case?Q=V'],
      ['http://b:8080/with/port?a=1&b=2#frag', '/with/port?a=1&b=2'],
      ['http://user:secret@b/auth', '/auth'],
      ['http://b/a%20b/%E2%82%AC?q=%26', '/a%20b/%E2%82%AC?q=%26'],
    ];
    for (const [url, path] of cases) {
      const { data, config } = await withLane('gray', () => client.get<Seen>(url));
      expect({ url, server: data.server, path: data.path }).toEqual({ url, server: 'b-gray', path });
      expect(config.url).toMatch(new RegExp(`^http://(user:secret@)?127\\.0\\.0\\.1:${ports.gray}/`));
      if (url.includes('user:secret')) expect(data.headers.authorization).toBe(`Basic ${Buffer.from('user:secret').toString('base64')}`);
    }
  });

  test('hosts that are not services pass through untouched and get no lane carrier', async () => {
    const { data, config } = await withLane('gray', () => client.get<Seen>(`http://127.0.0.1:${ports.outside}/x`));
    expect(data.server).toBe('outside');
    expect(data.headers['x-mse-tag']).toBeUndefined();
    expect(data.headers.baggage).toBeUndefined();
    expect(config.graylane).toBeUndefined();
  });

  test('no instance at all fails with the typed error naming service and lane', async () => {
    router.update('c', []);
    await expect(withLane('gray', () => client.get('http://c/x'))).rejects.toMatchObject({
      code: ErrorCode.NO_INSTANCE,
      details: expect.objectContaining({ service: 'c' }),
    });
  });

  test('the eject function removes the interceptor', async () => {
    const other = axios.create();
    const eject = attachLaneRouting(other, { router });
    eject();
    await expect(other.get('http://b/x', { timeout: 2000 })).rejects.toThrow();
  });
});

describeRetryContract('axios', {
  retriesResets: true,
  client(router, { retry, onSelect }) {
    const http = axios.create();
    attachLaneRouting(http, { router, retry, onSelect });
    return {
      async call(url, method) {
        const data = method === 'GET' || method === 'HEAD' ? undefined : 'payload';
        return (await http.request<string>({ url, method, data, responseType: 'text' })).data;
      },
    };
  },
});

describe('attachLaneRouting retry options', () => {
  test('invalid retry options fail at attach time with CONFIG_INVALID', () => {
    const router = createRouter(undefined);
    expect(() => attachLaneRouting(axios.create(), { router, retry: { attempts: -1 } })).toThrow(
      expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }),
    );
  });

  test('carriers createCarriers did not make fail at attach time with CONFIG_INVALID', () => {
    const router = createRouter(undefined);
    expect(() => attachLaneRouting(axios.create(), { router, carriers: { mseTag: 'x-lane' } as never })).toThrow(
      expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }),
    );
  });

  test('a streamed body is not retried: it may have been read', async () => {
    const router = createRouter(undefined);
    const dead = await deadPort();
    const live = await echoServer('live');
    router.update('s', [instance('s', dead, 'gray'), instance('s', live, undefined)]);
    const client = axios.create();
    const selections: unknown[] = [];
    attachLaneRouting(client, { router, onSelect: (s) => selections.push(s) });
    const error = await withLane('gray', () => client.put('http://s/x', Readable.from(['a', 'b']))).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ECONNREFUSED' });
    expect(selections).toHaveLength(1);
    router.close();
  });
});
