import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { context } from '@opentelemetry/api';
import { ErrorCode } from '@graylane/core';
import { LANE_TOKEN_HEADER, ensureContextManager, getLane, injectLane, setLane, signLaneToken } from '@graylane/context';
import type { LaneTokenKey } from '@graylane/context';
import { graylaneMiddleware } from '../src/index.js';
import type { GraylaneMiddlewareOptions } from '../src/index.js';

async function serve(app: express.Express): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('graylaneMiddleware', () => {
  let server: { url: string; close(): Promise<void> };
  const seenByHook: Array<string | undefined> = [];

  beforeAll(async () => {
    ensureContextManager();
    const app = express();
    app.use(graylaneMiddleware({ onLane: (lane) => seenByHook.push(lane) }));
    app.get('/lane', async (_req, res) => {
      const first = getLane();
      await new Promise((resolve) => setTimeout(resolve, 5));
      const afterTimer = getLane();
      await Promise.resolve();
      res.json({ first: first ?? null, afterTimer: afterTimer ?? null, afterAwait: getLane() ?? null });
    });
    // Registered after graylane's middleware: the body parser calls `next` from stream listeners.
    app.post('/body', express.json({ limit: '1mb' }), async (req, res) => {
      await new Promise((resolve) => setImmediate(resolve));
      res.json({ lane: getLane() ?? null, body: req.body });
    });
    app.get('/throws', () => {
      throw new Error('handler failure');
    });
    server = await serve(app);
  });

  afterAll(() => server.close());

  async function lane(headers: Record<string, string>): Promise<unknown> {
    const response = await fetch(`${server.url}/lane`, { headers });
    expect(response.status).toBe(200);
    return response.json();
  }

  test('x-mse-tag puts the request in its lane across timers and awaits', async () => {
    expect(await lane({ 'x-mse-tag': 'gray' })).toEqual({ first: 'gray', afterTimer: 'gray', afterAwait: 'gray' });
  });

  test('W3C baggage lane=... puts the request in its lane', async () => {
    expect(await lane({ baggage: 'user=1, lane=blue' })).toEqual({ first: 'blue', afterTimer: 'blue', afterAwait: 'blue' });
  });

  test('no carrier means base', async () => {
    expect(await lane({})).toEqual({ first: null, afterTimer: null, afterAwait: null });
  });

  test.each([
    ['an invalid lane', { 'x-mse-tag': 'not a lane' }],
    ['an oversized header', { 'x-mse-tag': 'g'.repeat(10_000) }],
    ['a malformed baggage', { baggage: '=;;,,=lane' }],
  ])('%s never fails the request; it runs in base', async (_what, headers) => {
    expect(await lane(headers)).toEqual({ first: null, afterTimer: null, afterAwait: null });
  });

  test('a body parser registered after the middleware keeps the lane (it calls next from stream listeners)', async () => {
    const response = await fetch(`${server.url}/body`, {
      method: 'POST',
      headers: { 'x-mse-tag': 'gray', 'content-type': 'application/json' },
      body: JSON.stringify({ big: 'x'.repeat(200_000) }),
    });
    const json = (await response.json()) as { lane: string | null; body: { big: string } };
    expect(json.lane).toBe('gray');
    expect(json.body.big).toHaveLength(200_000);
  });

  test('the onLane hook sees each request lane', async () => {
    seenByHook.length = 0;
    await lane({ 'x-mse-tag': 'gray' });
    await lane({});
    expect(seenByHook).toEqual(['gray', undefined]);
  });

  test('handler errors still reach Express error handling', async () => {
    const response = await fetch(`${server.url}/throws`, { headers: { 'x-mse-tag': 'gray' } });
    expect(response.status).toBe(500);
  });

  test('lanes do not leak between concurrent requests on keep-alive sockets', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    const lanes = ['gray', 'blue', undefined, 'feature-x'];
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => {
        const want = lanes[i % lanes.length];
        return new Promise<[string | undefined, unknown]>((resolve, reject) => {
          const req = http.get(`${server.url}/lane`, { agent, headers: want ? { 'x-mse-tag': want } : {} }, (res) => {
            let body = '';
            res.on('data', (c) => (body += c));
            res.on('end', () => resolve([want, JSON.parse(body)]));
          });
          req.on('error', reject);
        });
      }),
    );
    agent.destroy();
    for (const [want, got] of results) {
      const expected = want ?? null;
      expect(got).toEqual({ first: expected, afterTimer: expected, afterAwait: expected });
    }
  });
});

describe('graylaneMiddleware as an entry', () => {
  /** A network the test client (on loopback) is not in: it stands for the internet. */
  const ELSEWHERE = ['10.0.0.0/8'];
  const KEY: LaneTokenKey = { id: 'tools', secret: 'a-test-secret-of-at-least-32-bytes!' };
  const servers: Array<{ close(): Promise<void> }> = [];

  beforeAll(() => ensureContextManager());
  afterAll(() => Promise.all(servers.map((server) => server.close())));

  /**
   * An app whose requests arrive in the `gray` lane already, as OpenTelemetry's HTTP instrumentation
   * with graylane's propagator would put them, then pass graylane's middleware with `entry`. It
   * answers with the lane, the headers the handler sees, and those an outbound call would send.
   */
  async function entryApp(entry: GraylaneMiddlewareOptions['entry'], laneFor?: GraylaneMiddlewareOptions['laneFor']): Promise<string> {
    const app = express();
    app.use((_req, _res, next) => context.with(setLane(context.active(), 'gray'), next));
    app.use(graylaneMiddleware({ entry, laneFor }));
    app.get('/seen', (req, res) => {
      const outbound: Record<string, unknown> = { baggage: req.headers.baggage };
      injectLane(outbound, getLane());
      res.json({ lane: getLane() ?? null, headers: req.headers, outbound });
    });
    const server = await serve(app);
    servers.push(server);
    return server.url;
  }

  async function seen(url: string, headers: Record<string, string>): Promise<{ lane: string | null; headers: Record<string, string>; outbound: Record<string, string> }> {
    return (await fetch(`${url}/seen`, { headers })).json() as never;
  }

  test('an unsigned request from outside runs in base, and neither the handler nor its calls see the forged lane', async () => {
    const url = await entryApp({ trustedNetworks: ELSEWHERE, tokens: { keys: [KEY] } });
    const forged = { 'x-mse-tag': 'gray', baggage: 'lane=gray,__microservice_tag__=gray,user=7' };
    const { lane, headers, outbound } = await seen(url, forged);
    expect(lane).toBeNull();
    expect(headers['x-mse-tag']).toBeUndefined();
    expect(headers.baggage).toBe('user=7');
    expect(outbound).toEqual({ baggage: 'user=7' });
  });

  test('a valid token puts the request in its lane; the token stays at the entry', async () => {
    const url = await entryApp({ trustedNetworks: ELSEWHERE, tokens: { keys: [KEY] } });
    const token = signLaneToken('blue', KEY, { ttlSeconds: 60 });
    const { lane, headers, outbound } = await seen(url, { [LANE_TOKEN_HEADER]: token, 'x-mse-tag': 'gray' });
    expect(lane).toBe('blue');
    expect(headers['x-mse-tag']).toBe('blue');
    expect(headers[LANE_TOKEN_HEADER]).toBeUndefined();
    expect(outbound).toMatchObject({ 'x-mse-tag': 'blue', baggage: 'lane=blue' });
  });

  test("the entry's rules (laneFor) decide for untrusted clients, on the request as sent", async () => {
    const seenByRules: Array<string | undefined> = [];
    const rules = (req: { url?: string; headers: Record<string, unknown> }) => {
      seenByRules.push(req.headers['x-mse-tag'] as string | undefined);
      return req.url?.includes('group=gray') ? 'gray' : undefined;
    };
    const url = await entryApp({ trustedNetworks: ELSEWHERE, tokens: { keys: [KEY] } }, rules as never);
    const ruled = (await (await fetch(`${url}/seen?group=gray`, { headers: { 'x-mse-tag': 'blue' } })).json()) as { lane: string; outbound: Record<string, string> };
    expect(ruled.lane).toBe('gray');
    expect(ruled.outbound).toMatchObject({ 'x-mse-tag': 'gray', baggage: 'lane=gray' });
    expect(seenByRules).toEqual(['blue']); // rules saw the carrier before it was stripped
    expect((await seen(url, { 'x-mse-tag': 'gray' })).lane).toBeNull(); // no rule matches: base
    const token = signLaneToken('blue', KEY, { ttlSeconds: 60 });
    const tokened = (await (await fetch(`${url}/seen?group=gray`, { headers: { [LANE_TOKEN_HEADER]: token } })).json()) as { lane: string };
    expect(tokened.lane).toBe('blue'); // a trusted lane wins over the rules, as at the gateway
  });

  test('a laneFor that throws leaves the request in base', async () => {
    const url = await entryApp(true, () => {
      throw new Error('broken rules');
    });
    expect((await seen(url, { 'x-mse-tag': 'gray' })).lane).toBeNull();
  });

  test('entry: true trusts no client, loopback included', async () => {
    const url = await entryApp(true);
    expect((await seen(url, { 'x-mse-tag': 'gray' })).lane).toBeNull();
  });

  test("a client in a trusted network chooses its lane", async () => {
    const url = await entryApp({ trustedNetworks: ['127.0.0.0/8', '::1/128'] });
    expect(await seen(url, { 'x-mse-tag': 'blue' })).toMatchObject({ lane: 'blue', headers: { 'x-mse-tag': 'blue' } });
  });

  test('an inner hop (the default) keeps trusting carriers and the lane the context already holds', async () => {
    const url = await entryApp(false);
    expect((await seen(url, { 'x-mse-tag': 'blue' })).lane).toBe('blue');
    expect((await seen(url, {})).lane).toBe('gray');
  });

  test('invalid entry options fail when the middleware is made', () => {
    expect(() => graylaneMiddleware({ entry: { tokens: { keys: [{ id: 'k', secret: 'short' }] } } })).toThrow(
      expect.objectContaining({ code: ErrorCode.CONFIG_INVALID, details: { path: 'tokens.keys[0].secret' } }),
    );
  });
});
