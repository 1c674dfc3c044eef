import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { ErrorCode, createInstance, laneMetadata } from '@graylane/core';
import { ensureContextManager } from '@graylane/context';
import { compileMatcher } from '@graylane/matcher';
import { parseRules } from '@graylane/rules';
import { createRouter } from '@graylane/router';
import type { LaneRouter } from '@graylane/router';
import { createGateway } from '../src/index.js';
import type { Gateway } from '../src/index.js';
import { requestHeadBytes } from '../src/budget.js';

/** One rule, `?group=gray` to the gray lane, as a JSON document. */
const RULES = JSON.stringify({
  apiVersion: 'traffic.opensergo.io/v1alpha1',
  kind: 'TrafficLabelRule',
  metadata: { name: 'gray-by-group' },
  spec: { selector: { app: 'a' }, trafficLabel: 'gray', match: [{ condition: '==', type: 'param', key: 'group', value: 'gray' }] },
});

/** Node's default maxHeaderSize: what the upstream (a plain Node server) accepts before answering 431. */
const LIMIT = 16 * 1024;

let upstream: http.Server;
let upstreamPort: number;
let router: LaneRouter;
const gateways: Gateway[] = [];

beforeAll(async () => {
  ensureContextManager();
  upstream = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ headers: req.headers }));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamPort = (upstream.address() as AddressInfo).port;
  router = createRouter(undefined);
  router.update('a', [
    createInstance({ service: 'a', host: '127.0.0.1', port: upstreamPort, metadata: laneMetadata(undefined) }),
    createInstance({ service: 'a', host: '127.0.0.1', port: upstreamPort, metadata: laneMetadata('gray') }),
  ]);
});

afterAll(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  router.close();
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
});

async function gatewayWith(headerBudget?: number): Promise<number> {
  const gateway = createGateway({ router, upstream: 'a', matcher: compileMatcher(parseRules(RULES).rules), timeoutMs: 2000, ...(headerBudget === undefined ? {} : { headerBudget }) });
  gateways.push(gateway);
  return (await gateway.listen(0)).port;
}

/** Sends a request head of exactly `headBytes` bytes over a raw socket; answers the status and body. */
function rawRequest(port: number, headBytes: number): Promise<{ status: number; body: string }> {
  const start = `GET /a?group=gray HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nconnection: close\r\nx-pad: `;
  const end = '\r\n\r\n';
  const pad = 'x'.repeat(headBytes - start.length - end.length);
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(start + pad + end));
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => (answer += chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
      resolve({ status, body: answer.slice(answer.indexOf('\r\n\r\n') + 4) });
    });
  });
}

describe('header budget', () => {
  test('a request the upstream accepts as it is still reaches it, lane written, after the gateway adds its headers', async () => {
    const port = await gatewayWith();
    // Close to the limit: the client's own head fits the upstream, the gateway's additions would not.
    const { status, body } = await rawRequest(port, LIMIT - 80);
    expect(status).toBe(200);
    const seen = JSON.parse(body.slice(body.indexOf('{'), body.lastIndexOf('}') + 1)) as { headers: http.IncomingHttpHeaders };
    expect(seen.headers['x-mse-tag']).toBe('gray');
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-forwarded-host']).toBeUndefined();
  });

  test('without the budget the same request is refused by the upstream with 431 (what the budget prevents)', async () => {
    const port = await gatewayWith(64 * 1024);
    const { status } = await rawRequest(port, LIMIT - 80);
    expect(status).toBe(431);
  });

  test('a request over the budget even without the optional headers is answered 431 by the gateway, typed', async () => {
    const port = await gatewayWith(4096);
    const { status, body } = await rawRequest(port, 6000);
    expect(status).toBe(431);
    expect(body).toContain(ErrorCode.UPSTREAM);
    expect(body).toContain('4096-byte header budget');
  });

  test('an invalid budget is refused at creation', () => {
    expect(() => createGateway({ router, upstream: 'a', headerBudget: 10 })).toThrow(expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }));
    expect(() => createGateway({ router, upstream: 'a', headerBudget: 1.5e4 + 0.5 })).toThrow(expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }));
  });

  test('requestHeadBytes counts every line of an array and what Node adds', () => {
    expect(requestHeadBytes({ a: 'b', c: ['d', 'ef'] })).toBe(56 + 'a: b\r\n'.length + 'c: d\r\n'.length + 'c: ef\r\n'.length);
  });
});

describe('rules', () => {
  test('rules take a function of the request as well as a matcher; the deprecated matcher still works', async () => {
    const byFunction = createGateway({ router, upstream: 'a', rules: (req) => (req.url?.includes('group=gray') ? 'gray' : undefined) });
    const byMatcher = createGateway({ router, upstream: 'a', matcher: compileMatcher(parseRules(RULES).rules) });
    gateways.push(byFunction, byMatcher);
    for (const gateway of [byFunction, byMatcher]) {
      const { port } = await gateway.listen(0);
      const seen = (await (await fetch(`http://127.0.0.1:${port}/a?group=gray`)).json()) as { headers: http.IncomingHttpHeaders };
      expect(seen.headers['x-mse-tag']).toBe('gray');
    }
  });
});
