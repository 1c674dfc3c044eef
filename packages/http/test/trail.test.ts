import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { context } from '@opentelemetry/api';
import { createLaneTrail, ensureContextManager, setLaneTrail } from '@graylane/context';
import { createRouter } from '@graylane/router';
import { describeTrailContract, instance } from '@graylane/testing';
import { LaneAgent } from '../src/index.js';

describeTrailContract('LaneAgent', (router) => {
  const agent = new LaneAgent({ router, keepAlive: true });
  return {
    get: (url) =>
      new Promise((resolve, reject) => {
        http.get(url, { agent }, (res) => res.resume().on('end', () => resolve(res.statusCode ?? 0))).on('error', reject);
      }),
    close: async () => agent.destroy(),
  };
});

describe('LaneAgent trail collection', () => {
  const router = createRouter(undefined);
  // A body larger than the socket buffers: unread, it holds the response, and its socket, open.
  const big = http.createServer((_req, res) => res.end('x'.repeat(1 << 20)));

  beforeAll(async () => {
    ensureContextManager();
    await new Promise<void>((resolve) => big.listen(0, '127.0.0.1', resolve));
    router.update('big', [instance('big', (big.address() as AddressInfo).port, undefined)]);
  });

  afterAll(async () => {
    router.close();
    await new Promise((resolve) => big.close(resolve));
  });

  it('still dumps a response nobody listens for', async () => {
    const agent = new LaneAgent({ router, keepAlive: true });
    try {
      await context.with(setLaneTrail(context.active(), createLaneTrail({ service: 'a' })), async () => {
        // The request closes once its response is read to the end; undumped, it never would be.
        const req = http.get('http://big/unread', { agent });
        await expect(once(req, 'close').then(() => 'read')).resolves.toBe('read');
      });
    } finally {
      agent.destroy();
    }
  });
});
