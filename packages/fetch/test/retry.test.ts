import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, fetch as undiciFetch, request } from 'undici';
import { ErrorCode } from '@graylane/core';
import { ensureContextManager, withLane } from '@graylane/context';
import { createRouter } from '@graylane/router';
import type { Selection } from '@graylane/router';
import { codesOf, deadPort, describeRetryContract, instance } from '@graylane/testing';
import { createLaneFetch, laneInterceptor } from '../src/index.js';

describeRetryContract('undici.request', {
  retriesResets: true,
  client(router, options) {
    const dispatcher = new Agent().compose(laneInterceptor({ router, ...options }));
    return {
      async call(url, method) {
        const body = method === 'GET' || method === 'HEAD' ? undefined : 'payload';
        const response = await request(url, { method: method as 'GET', body, dispatcher });
        return response.body.text();
      },
      close: () => dispatcher.close(),
    };
  },
});

describeRetryContract('fetch', {
  retriesResets: true,
  client(router, options) {
    const dispatcher = new Agent();
    const laneFetch = createLaneFetch({ router, ...options, dispatcher, fetch: undiciFetch as unknown as typeof fetch });
    return {
      // fetch streams every body it sends, and a stream is not replayed: calls without a body here.
      call: async (url, method) => (await laneFetch(url, { method })).text(),
      close: () => dispatcher.close(),
    };
  },
});

describe('laneInterceptor retry specifics', () => {
  let dead: number;
  let live: http.Server;

  beforeAll(async () => {
    ensureContextManager();
    dead = await deadPort();
    live = http.createServer((req, res) => req.resume().on('end', () => res.end('live')));
    await new Promise<void>((resolve) => live.listen(0, '127.0.0.1', resolve));
  });

  afterAll(() => new Promise((resolve) => live.close(resolve)));

  function setup() {
    const router = createRouter(undefined);
    router.update('b', [instance('b', dead, 'gray'), instance('b', (live.address() as AddressInfo).port, undefined)]);
    const selections: Selection[] = [];
    return { router, selections, onSelect: (s: Selection) => selections.push(s) };
  }

  test('a fetch with a body is not retried, since fetch streams it', async () => {
    const { router, selections, onSelect } = setup();
    const dispatcher = new Agent();
    const laneFetch = createLaneFetch({ router, onSelect, dispatcher, fetch: undiciFetch as unknown as typeof fetch });
    const error = await withLane('gray', () => laneFetch('http://b/x', { method: 'PUT', body: 'payload' })).catch((e: unknown) => e);
    expect(codesOf(error)).toContain('ECONNREFUSED');
    expect(selections).toHaveLength(1);
    await dispatcher.close();
  });

  test('a Buffer body is replayed to the next instance', async () => {
    const { router, selections, onSelect } = setup();
    const dispatcher = new Agent().compose(laneInterceptor({ router, onSelect }));
    const response = await withLane('gray', () => request('http://b/x', { method: 'PUT', body: Buffer.from('payload'), dispatcher }));
    expect(await response.body.text()).toBe('live');
    expect(selections).toHaveLength(2);
    await dispatcher.close();
  });

  test('invalid retry options fail at creation with CONFIG_INVALID', () => {
    const { router } = setup();
    expect(() => laneInterceptor({ router, retry: { methods: 'GET' as unknown as string[] } })).toThrow(
      expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }),
    );
  });
});
