import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode, createInstance, laneMetadata } from '@graylane/core';
import type { Instance } from '@graylane/core';
import { LANE_TOKEN_HEADER, ensureContextManager, signLaneToken } from '@graylane/context';
import type { LaneTokenKey } from '@graylane/context';
import { compileMatcher } from '@graylane/matcher';
import { parseRules } from '@graylane/rules';
import { createRouter } from '@graylane/router';
import type { LaneRouter } from '@graylane/router';
import { createGateway } from '../src/index.js';
import type { Gateway, GatewayOptions, RouteInfo } from '../src/index.js';

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

/** The test runs on loopback: trusting these networks makes the test client an inside one. */
const LOOPBACK = ['127.0.0.0/8', '::1/128'];
/** A network the test client is not in: it stands for the internet. */
const ELSEWHERE = ['10.0.0.0/8'];
const KEY: LaneTokenKey = { id: 'tools', secret: 'a-test-secret-of-at-least-32-bytes!' };

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
  return createInstance({ service, host: '127.0.0.1', port, metadata: laneMetadata(lane) });
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
    gateway = createGateway({ router, upstream: 'a', matcher: compileMatcher(parseRules(RULES).rules), timeoutMs: 300, trust: { trustedNetworks: LOOPBACK } });
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

  test('a lane carried by a client in a trusted network is honoured', async () => {
    const { json } = await send(`${url}/a`, { headers: { 'x-mse-tag': 'gray' } });
    expect(json.server).toBe('a-gray');
  });

  test('a carried lane with no instance falls back to base and keeps travelling', async () => {
    const { json } = await send(`${url}/a`, { headers: { baggage: 'lane=blue,user=7' } });
    expect(json.server).toBe('a-base');
    expect(json.headers['x-mse-tag']).toBe('blue');
    expect(String(json.headers.baggage).split(',').sort()).toEqual(['lane=blue', 'user=7']);
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

  test('an upstream none of whose instances accepts a connection answers 503 with the typed error; a slow one 504', async () => {
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
      // Regression (#12): the first request after the last instance died answered a raw 502.
      const gone = await send(`http://127.0.0.1:${address.port}/gone`, { headers: { 'x-mse-tag': 'gray' } });
      expect(gone.status).toBe(503);
      expect(gone.json.error).toMatchObject({ code: ErrorCode.NO_INSTANCE, service: 'gone', lane: 'base', unreachable: true });
      const slow = await send(`http://127.0.0.1:${address.port}/slow`);
      expect(slow.status).toBe(504);
      expect(slow.json.error).toMatchObject({ code: ErrorCode.UPSTREAM, timeout: true });
    } finally {
      await byPath.close();
    }
  });

  test('a strict lane none of whose instances accepts a connection answers 503 GRAYLANE_ERR_STRICT_LANE, never base', async () => {
    const deadPort = await upstream('dead-secure');
    await new Promise((resolve) => servers.pop()!.close(resolve));
    const strict = createRouter(undefined, { strict: ['secure'] });
    strict.update('s', [instance('s', deadPort, 'secure'), instance('s', await upstream('s-base'), undefined)]);
    const front = createGateway({ router: strict, upstream: 's', trust: 'all' });
    const address = await front.listen(0);
    try {
      const answer = await send(`http://127.0.0.1:${address.port}/x`, { headers: { 'x-mse-tag': 'secure' } });
      expect(answer.status).toBe(503);
      expect(answer.json.error).toMatchObject({ code: ErrorCode.STRICT_LANE, service: 's', lane: 'secure', unreachable: true });
    } finally {
      await front.close();
      strict.close();
    }
  });

  test('a refused connect is retried on another instance: no request lost to a dead address', async () => {
    const deadPort = await upstream('dead');
    await new Promise((resolve) => servers.pop()!.close(resolve));
    router.update('half', [instance('half', deadPort, undefined), instance('half', await upstream('half-alive'), undefined)]);
    const half = createGateway({ router, upstream: 'half' });
    const address = await half.listen(0);
    try {
      const answers = await Promise.all(Array.from({ length: 20 }, () => send(`http://127.0.0.1:${address.port}/x`)));
      expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
      expect(new Set(answers.map((a) => a.json.server))).toEqual(new Set(['half-alive']));
    } finally {
      await half.close();
    }
  });

  test('with outlier ejection on, requests with a body (never retried) report each outcome: the dead instance is ejected', async () => {
    const deadPort = await upstream('dead-post');
    await new Promise((resolve) => servers.pop()!.close(resolve));
    const outliers = createRouter(undefined, { outlier: { consecutiveFailures: 2 } });
    const dead = instance('posts', deadPort, undefined);
    const live = instance('posts', await upstream('posts-alive'), undefined);
    outliers.update('posts', [dead, live]);
    const posting = createGateway({ router: outliers, upstream: 'posts' });
    const address = await posting.listen(0);
    const failures = jest.spyOn(outliers, 'reportFailure');
    const successes = jest.spyOn(outliers, 'reportSuccess');
    try {
      const post = async () => (await send(`http://127.0.0.1:${address.port}/x`, { method: 'POST', body: 'order' })).status;
      // Round robin: four POSTs, two to each instance; the dead one answers 502 (a body is never retried).
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push(await post());
      expect(statuses.sort()).toEqual([200, 200, 502, 502]);
      expect(failures.mock.calls.map(([failed, kind]) => [failed.id, kind])).toEqual([
        [dead.id, 'connect-failed'],
        [dead.id, 'connect-failed'],
      ]);
      expect(successes.mock.calls.map(([reached]) => reached.id)).toEqual([live.id, live.id]);
      expect(outliers.ejected('posts')).toEqual([dead.id]);
      for (let i = 0; i < 4; i++) expect(await post()).toBe(200);
    } finally {
      await posting.close();
      outliers.close();
    }
  });

  test('an attempt that reached an instance (reset) and then refused connections: 502 with the network error, as the outbound adapters answer (ADR 0005)', async () => {
    // One instance resets every request on its new connection; the other is gone. Whichever the
    // request tries first, an instance was reached, so the answer is not "every candidate refused".
    const resetting = http.createServer((req) => req.socket.destroy());
    servers.push(resetting);
    await new Promise<void>((resolve) => resetting.listen(0, '127.0.0.1', resolve));
    const deadPort = await upstream('mixed-dead');
    await new Promise((resolve) => servers.pop()!.close(resolve));
    router.update('mixed', [instance('mixed', (resetting.address() as AddressInfo).port, undefined), instance('mixed', deadPort, undefined)]);
    const front = createGateway({ router, upstream: 'mixed' });
    const address = await front.listen(0);
    try {
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await send(`http://127.0.0.1:${address.port}/x`));
      expect(answers.map((a) => [a.status, a.json.error?.code])).toEqual(Array(4).fill([502, ErrorCode.UPSTREAM]));
    } finally {
      await front.close();
    }
  });

  test('a kept-alive connection the upstream closes as it is reused is sent again, not answered 502', async () => {
    // An upstream that answers the first request of each connection and drops the connection on
    // the next one, as a server whose idle timeout fires just as the gateway reuses the connection.
    const connections = new Set<import('node:net').Socket>();
    const racing = http.createServer((req, res) => {
      const socket = req.socket as import('node:net').Socket & { served?: boolean };
      if (socket.served) {
        socket.destroy();
        return;
      }
      socket.served = true;
      res.end('ok');
    });
    racing.on('connection', (socket) => connections.add(socket));
    servers.push(racing);
    await new Promise<void>((resolve) => racing.listen(0, '127.0.0.1', resolve));
    router.update('racing', [instance('racing', (racing.address() as AddressInfo).port, undefined)]);
    const front = createGateway({ router, upstream: 'racing' });
    const address = await front.listen(0);
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++) statuses.push((await fetch(`http://127.0.0.1:${address.port}/x`)).status);
      expect(statuses).toEqual(Array(10).fill(200));
      expect(connections.size).toBeGreaterThan(1);
      // A request with a body is never sent twice: it gets the 502.
      const posted = await fetch(`http://127.0.0.1:${address.port}/x`, { method: 'PUT', body: 'payload' });
      const again = await fetch(`http://127.0.0.1:${address.port}/x`, { method: 'PUT', body: 'payload' });
      expect([posted.status, again.status]).toContain(502);
    } finally {
      await front.close();
    }
    const off = createGateway({ router, upstream: 'racing', retry: false });
    const offAddress = await off.listen(0);
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await fetch(`http://127.0.0.1:${offAddress.port}/x`)).status);
      expect(statuses).toContain(502);
    } finally {
      await off.close();
    }
  });

  test("the gateway's own agent retires idle upstream connections before the upstream would", async () => {
    const closedByPeer: number[] = [];
    const idle = http.createServer((_req, res) => res.end('ok'));
    idle.keepAliveTimeout = 60_000;
    idle.on('connection', (socket) => {
      const opened = Date.now();
      socket.on('close', () => closedByPeer.push(Date.now() - opened));
    });
    servers.push(idle);
    await new Promise<void>((resolve) => idle.listen(0, '127.0.0.1', resolve));
    router.update('idle', [instance('idle', (idle.address() as AddressInfo).port, undefined)]);
    const front = createGateway({ router, upstream: 'idle', idleSocketTimeoutMs: 150 });
    const address = await front.listen(0);
    try {
      expect((await fetch(`http://127.0.0.1:${address.port}/x`)).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(closedByPeer).toHaveLength(1);
      expect(closedByPeer[0]).toBeLessThan(550);
    } finally {
      await front.close();
    }
    expect(() => createGateway({ router, upstream: 'idle', idleSocketTimeoutMs: 0 })).toThrow(/idleSocketTimeoutMs/);
  });

  test('setMatcher swaps the rules at run time', async () => {
    gateway.setMatcher(undefined);
    expect((await send(`${url}/a?group=gray`)).json.server).toBe('a-base');
    gateway.setMatcher(compileMatcher(parseRules(RULES).rules));
    expect((await send(`${url}/a?group=gray`)).json.server).toBe('a-gray');
  });

  describe('trust boundary', () => {
    const rules = () => compileMatcher(parseRules(RULES).rules);

    /** What `onRoute` saw: the decision, and the headers of the request as it was received. */
    type Routed = RouteInfo & { received: http.IncomingHttpHeaders };

    /** Runs `fn` against a gateway to `a` with `options`, recording what `onRoute` saw. */
    async function withGateway(options: Partial<GatewayOptions>, fn: (url: string, routes: Routed[]) => Promise<void>): Promise<void> {
      const routes: Routed[] = [];
      const onRoute = (info: RouteInfo, req: http.IncomingMessage) => routes.push({ ...info, received: { ...req.headers } });
      const entry = createGateway({ router, upstream: 'a', matcher: rules(), onRoute, ...options });
      const address = await entry.listen(0);
      try {
        await fn(`http://127.0.0.1:${address.port}`, routes);
      } finally {
        await entry.close();
      }
    }

    const token = (lane: string, key = KEY, ttlSeconds = 60) => signLaneToken(lane, key, { ttlSeconds });

    test.each<[string, Record<string, string>]>([
      ['x-mse-tag', { 'x-mse-tag': 'gray' }],
      ['baggage lane=', { baggage: 'lane=gray,user=7' }],
      ['MSE agent baggage', { baggage: '__microservice_tag__=%22gray%22,user=7' }],
      ['OpenSergo baggage', { baggage: 'OpenSergo-Label=gray,user=7' }],
      ['every carrier at once', { 'x-mse-tag': 'gray', 'x-opensergo-traffic': 'gray', baggage: 'lane=gray,__microservice_tag__={"tag":"gray"},user=7' }],
      ['a forged token', { [LANE_TOKEN_HEADER]: `v1.tools.gray.9999999999.${'A'.repeat(43)}`, 'x-mse-tag': 'gray' }],
    ])('an unsigned request from outside carrying %s never reaches gray, nor carries a lane on', async (_what, headers) => {
      await withGateway({ trust: { trustedNetworks: ELSEWHERE, tokens: { keys: [KEY] } } }, async (entry, routes) => {
        const { json } = await send(`${entry}/a`, { headers });
        expect(json.server).toBe('a-base');
        expect(routes.map((r) => [r.lane, r.decidedBy])).toEqual([[undefined, 'none']]);
        expect(json.headers['x-mse-tag']).toBeUndefined();
        expect(json.headers['x-opensergo-traffic']).toBeUndefined();
        expect(json.headers[LANE_TOKEN_HEADER]).toBeUndefined();
        expect(json.headers.baggage ?? 'user=7').toBe('user=7');
      });
    });

    test('by default no client is trusted, loopback included; rules still decide', async () => {
      await withGateway({}, async (entry, routes) => {
        expect((await send(`${entry}/a`, { headers: { 'x-mse-tag': 'gray', baggage: 'lane=gray' } })).json.server).toBe('a-base');
        expect((await send(`${entry}/a?group=gray`, { headers: { 'x-mse-tag': 'blue' } })).json).toMatchObject({
          server: 'a-gray',
          headers: { 'x-mse-tag': 'gray', baggage: 'lane=gray' },
        });
        expect(routes.map((r) => r.decidedBy)).toEqual(['none', 'rule']);
      });
    });

    test("a valid token from outside reaches its lane, wins over the rules, and stays at the gateway", async () => {
      await withGateway({ trust: { trustedNetworks: ELSEWHERE, tokens: { keys: [KEY] } } }, async (entry, routes) => {
        const gray = await send(`${entry}/a`, { headers: { [LANE_TOKEN_HEADER]: token('gray') } });
        expect(gray.json).toMatchObject({ server: 'a-gray', headers: { 'x-mse-tag': 'gray', baggage: 'lane=gray' } });
        expect(gray.json.headers[LANE_TOKEN_HEADER]).toBeUndefined();
        const blue = await send(`${entry}/a?group=gray`, { headers: { [LANE_TOKEN_HEADER]: token('blue'), 'x-mse-tag': 'gray' } });
        expect(blue.json).toMatchObject({ server: 'a-base', headers: { 'x-mse-tag': 'blue' } });
        expect(routes.map((r) => [r.lane, r.decidedBy])).toEqual([
          ['gray', 'token'],
          ['blue', 'token'],
        ]);
      });
    });

    test('an expired token, or one signed by a key no longer in the set, is ignored and the rules decide', async () => {
      const retired: LaneTokenKey = { id: 'retired', secret: 'a-retired-secret-of-at-least-32-bytes' };
      await withGateway({ trust: { tokens: { keys: [KEY] } } }, async (entry, routes) => {
        const expired = signLaneToken('gray', KEY, { ttlSeconds: 60, now: Date.now() - 3_600_000 });
        expect((await send(`${entry}/a`, { headers: { [LANE_TOKEN_HEADER]: expired } })).json.server).toBe('a-base');
        expect((await send(`${entry}/a`, { headers: { [LANE_TOKEN_HEADER]: token('gray', retired) } })).json.server).toBe('a-base');
        expect((await send(`${entry}/a?group=gray`, { headers: { [LANE_TOKEN_HEADER]: expired } })).json.server).toBe('a-gray');
        expect(routes.map((r) => r.decidedBy)).toEqual(['none', 'none', 'rule']);
      });
    });

    test("trust: 'all' honours every client's carriers (a gateway behind another entry)", async () => {
      await withGateway({ trust: 'all' }, async (entry) => {
        expect((await send(`${entry}/a`, { headers: { 'x-mse-tag': 'gray' } })).json.server).toBe('a-gray');
      });
    });

    test('regression: a trusted base carrier cannot smuggle a read-only MSE baggage lane past the gateway', async () => {
      await withGateway({ trust: 'all', matcher: undefined }, async (entry) => {
        const { json } = await send(`${entry}/a`, { headers: { 'x-mse-tag': 'base', baggage: '__microservice_tag__=gray,user=7' } });
        expect(json.server).toBe('a-base');
        expect(json.headers.baggage).toBe('user=7');
      });
    });

    test("rules see the request as the client sent it: an operator's rule on a carrier header still matches", async () => {
      const byHeader = `
apiVersion: traffic.opensergo.io/v1alpha1
kind: TrafficLabelRule
metadata: { name: gray-by-header }
spec:
  selector: { app: a }
  trafficLabel: gray
  match:
    - { condition: "==", type: header, key: x-mse-tag, value: gray }
`;
      await withGateway({ matcher: compileMatcher(parseRules(byHeader).rules) }, async (entry, routes) => {
        expect((await send(`${entry}/a`, { headers: { 'x-mse-tag': 'gray' } })).json.server).toBe('a-gray');
        expect(routes).toMatchObject([{ decidedBy: 'rule', received: { 'x-mse-tag': 'gray' } }]);
      });
    });

    test('an invalid trust setting fails at creation', () => {
      expect(() => createGateway({ router, upstream: 'a', trust: { trustedNetworks: ['10.0.0.0/99'] } })).toThrow(
        expect.objectContaining({ code: ErrorCode.CONFIG_INVALID, details: { path: 'trustedNetworks[0]' } }),
      );
    });
  });
});
