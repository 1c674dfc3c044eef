import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode, laneMetadata } from '@graylane/core';
import type { Instance } from '@graylane/core';
import { ensureContextManager } from '@graylane/context';
import { compileMatcher } from '@graylane/matcher';
import { parseRules } from '@graylane/rules';
import { createRouter } from '@graylane/router';
import type { LaneRouter } from '@graylane/router';
import { createGateway } from '../src/index.js';
import type { Gateway } from '../src/index.js';

const RULES = `
apiVersion: traffic.opensergo.io/v1alpha1
kind: TrafficLabelRule
metadata: { name: gray-by-group }
spec:
  selector: { app: a }
  trafficLabel: gray
  match:
    - { condition: "==", type: param, key: group, value: gray }
`;

interface Seen {
  server: string;
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const servers: http.Server[] = [];

async function upstream(name: string, handler?: http.RequestListener): Promise<number> {
  const server = http.createServer(
    handler ??
      ((req, res) => {
        let body = '';
        req.on('data', (chunk) => (body += chunk));
        req.on('end', () => {
          const seen: Seen = { server: name, method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
          res.setHeader('content-type', 'application/json');
          res.setHeader('x-upstream', name);
          res.end(JSON.stringify(seen));
        });
      }),
  );
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function instance(service: string, port: number, lane: string | undefined): Instance {
  return { id: `127.0.0.1:${port}`, service, host: '127.0.0.1', port, lane, weight: 1, healthy: true, enabled: true, metadata: laneMetadata(lane) };
}

async function send(url: string, init: RequestInit = {}): Promise<{ status: number; json: any; headers: Headers }> {
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined, headers: response.headers };
}

describe('createGateway', () => {
  let router: LaneRouter;
  let gateway: Gateway;
  let url: string;

  beforeAll(async () => {
    ensureContextManager();
    router = createRouter(undefined);
    router.update('a', [instance('a', await upstream('a-base'), undefined), instance('a', await upstream('a-gray'), 'gray')]);
    gateway = createGateway({ router, upstream: 'a', matcher: compileMatcher(parseRules(RULES).rules), timeoutMs: 300 });
    const address = await gateway.listen(0);
    url = `http://127.0.0.1:${address.port}`;
  });

  afterAll(async () => {
    await gateway.close();
    router.close();
    await Promise.all(
      servers.map((s) => {
        s.closeAllConnections();
        return new Promise((resolve) => s.close(resolve));
      }),
    );
  });

  test('an unmarked request goes to base and carries no lane', async () => {
    const { status, json, headers } = await send(`${url}/a?x=1`);
    expect(status).toBe(200);
    expect(json).toMatchObject({ server: 'a-base', url: '/a?x=1' });
    expect(json.headers['x-mse-tag']).toBeUndefined();
    expect(headers.get('x-upstream')).toBe('a-base');
  });

  test('a rule decides the lane, and the gateway writes the carriers', async () => {
    const { json } = await send(`${url}/a?group=gray`);
    expect(json.server).toBe('a-gray');
    expect(json.headers['x-mse-tag']).toBe('gray');
    expect(json.headers.baggage).toBe('lane=gray');
  });

  test('a lane the request carries is honoured (trusted by default)', async () => {
    const { json } = await send(`${url}/a`, { headers: { 'x-mse-tag': 'gray' } });
    expect(json.server).toBe('a-gray');
  });

  test('a carried lane with no instance falls back to base and keeps travelling', async () => {
    const { json } = await send(`${url}/a`, { headers: { baggage: 'lane=blue,user=7' } });
    expect(json.server).toBe('a-base');
    expect(json.headers['x-mse-tag']).toBe('blue');
    expect(String(json.headers.baggage).split(',').sort()).toEqual(['lane=blue', 'user=7']);
  });

  test('with trustCarriers: false, carried lanes are stripped and only rules decide', async () => {
    const strict = createGateway({ router, upstream: 'a', trustCarriers: false, matcher: compileMatcher(parseRules(RULES).rules) });
    const address = await strict.listen(0);
    try {
      const carried = await send(`http://127.0.0.1:${address.port}/a`, { headers: { 'x-mse-tag': 'gray', baggage: 'lane=gray,user=7' } });
      expect(carried.json.server).toBe('a-base');
      expect(carried.json.headers['x-mse-tag']).toBeUndefined();
      expect(carried.json.headers.baggage).toBe('user=7');
      const ruled = await send(`http://127.0.0.1:${address.port}/a?group=gray`);
      expect(ruled.json.server).toBe('a-gray');
    } finally {
      await strict.close();
    }
  });

  test('a malformed carrier never fails the request', async () => {
    const { status, json } = await send(`${url}/a`, { headers: { 'x-mse-tag': '../../etc', baggage: '%%%;;;=' } });
    expect(status).toBe(200);
    expect(json.server).toBe('a-base');
  });

  test('request bodies are streamed through, hop-by-hop headers are not, x-forwarded-* are set', async () => {
    const json = await new Promise<Seen>((resolve, reject) => {
      const req = http.request(`${url}/a?group=gray`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', connection: 'keep-alive, x-secret', 'x-secret': 'drop me', 'x-keep': 'keep me' },
        agent: false,
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve(JSON.parse(body)));
      });
      req.on('error', reject);
      req.write('hello ');
      req.end('body');
    });
    expect(json).toMatchObject({ server: 'a-gray', method: 'POST', body: 'hello body' });
    expect(json.headers['x-secret']).toBeUndefined();
    expect(json.headers['x-keep']).toBe('keep me');
    expect(json.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(json.headers['x-forwarded-proto']).toBe('http');
  });

  test('no instance answers 503 with the typed error', async () => {
    router.update('empty', []);
    const none = createGateway({ router, upstream: 'empty' });
    const address = await none.listen(0);
    try {
      const { status, json } = await send(`http://127.0.0.1:${address.port}/x`, { headers: { 'x-mse-tag': 'gray' } });
      expect(status).toBe(503);
      expect(json.error).toMatchObject({ code: ErrorCode.NO_INSTANCE, service: 'empty' });
    } finally {
      await none.close();
    }
  });

  test('an unreachable upstream answers 502, a slow one 504', async () => {
    const closedPort = await upstream('gone');
    await new Promise((resolve) => servers.pop()!.close(resolve));
    const slowPort = await upstream('slow', () => {
      /* never answers */
    });
    router.update('gone', [instance('gone', closedPort, undefined)]);
    router.update('slow', [instance('slow', slowPort, undefined)]);
    const byPath = createGateway({ router, upstream: (req) => (req.url?.startsWith('/slow') ? 'slow' : 'gone'), timeoutMs: 200 });
    const address = await byPath.listen(0);
    try {
      const gone = await send(`http://127.0.0.1:${address.port}/gone`);
      expect(gone.status).toBe(502);
      expect(gone.json.error.code).toBe(ErrorCode.UPSTREAM);
      const slow = await send(`http://127.0.0.1:${address.port}/slow`);
      expect(slow.status).toBe(504);
      expect(slow.json.error).toMatchObject({ code: ErrorCode.UPSTREAM, timeout: true });
    } finally {
      await byPath.close();
    }
  });

  test('setMatcher swaps the rules at run time', async () => {
    gateway.setMatcher(undefined);
    expect((await send(`${url}/a?group=gray`)).json.server).toBe('a-base');
    gateway.setMatcher(compileMatcher(parseRules(RULES).rules));
    expect((await send(`${url}/a?group=gray`)).json.server).toBe('a-gray');
  });
});
