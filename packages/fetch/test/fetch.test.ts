import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { Agent, fetch as undiciFetch, request } from 'undici';
import type { Dispatcher } from 'undici';
import { ErrorCode, isGraylaneError } from '@graylane/core';
import { ensureContextManager, getLane, withLane } from '@graylane/context';
import { createRouter } from '@graylane/router';
import type { LaneRouter, Selection } from '@graylane/router';
import { createLaneFetch, laneInterceptor } from '../src/index.js';
import { echoServers, instance } from '@graylane/testing';
import type { Seen } from '@graylane/testing';

const run = promisify(execFile);

describe('@graylane/fetch', () => {
  const servers = echoServers();
  const selections: Selection[] = [];
  let router: LaneRouter;
  let ports: { base: number; gray: number; outside: number };
  let laneFetch: typeof fetch;

  async function get(url: string, init?: RequestInit): Promise<Seen> {
    const response = await laneFetch(url, init);
    expect(response.status).toBe(200);
    return (await response.json()) as Seen;
  }

  beforeAll(async () => {
    ensureContextManager();
    ports = { base: await servers.start('b-base'), gray: await servers.start('b-gray'), outside: await servers.start('outside') };
    router = createRouter(undefined, { strict: ['secure'], readyTimeoutMs: 1000 });
    router.update('b', [instance('b', ports.base, undefined), instance('b', ports.gray, 'gray')]);
    laneFetch = createLaneFetch({ router, onSelect: (selection) => selections.push(selection) });
  });

  beforeEach(() => (selections.length = 0));

  afterAll(async () => {
    router.close();
    await servers.close();
  });

  describe('createLaneFetch', () => {
    test('a request in the gray lane reaches B-gray, carries the lane, and reports the selection', async () => {
      const seen = await withLane('gray', () => get('http://b/hello?x=1'));
      expect(seen).toMatchObject({ server: 'b-gray', path: '/hello?x=1' });
      expect(seen.headers['x-mse-tag']).toBe('gray');
      expect(seen.headers.baggage).toBe('lane=gray');
      expect(seen.headers.host).toBe(`127.0.0.1:${ports.gray}`);
      expect(selections).toEqual([expect.objectContaining({ service: 'b', requestedLane: 'gray', servedLane: 'gray', fallback: [] })]);
    });

    test('a request without a lane reaches base only and sends no lane carrier', async () => {
      for (let i = 0; i < 10; i++) {
        const seen = await get('http://b/hello');
        expect(seen.server).toBe('b-base');
        expect(seen.headers['x-mse-tag']).toBeUndefined();
        expect(seen.headers.baggage).toBeUndefined();
      }
    });

    test('a lane the callee lacks falls back to base, keeps the lane on the wire, and records the fallback', async () => {
      const seen = await withLane('blue', () => get('http://b/hello'));
      expect(seen.server).toBe('b-base');
      expect(seen.headers['x-mse-tag']).toBe('blue');
      expect(selections[0]).toMatchObject({ servedLane: undefined, fallback: [{ lane: 'blue', reason: 'no-instance' }] });
    });

    test('other baggage entries survive, the lane entry is written once, and other headers and the body are kept', async () => {
      const headers = new Headers({ baggage: 'user=42,lane=old', 'x-user': 'u1', 'content-type': 'text/plain' });
      const seen = await withLane('gray', () => get('http://b/items', { method: 'POST', headers, body: 'payload' }));
      expect(seen).toMatchObject({ server: 'b-gray', method: 'POST', body: 'payload' });
      expect(seen.headers['x-user']).toBe('u1');
      expect(String(seen.headers.baggage).split(',').sort()).toEqual(['lane=gray', 'user=42']);
    });

    test('hosts that are not services pass through untouched and get no lane carrier', async () => {
      const seen = await withLane('gray', () => get(`http://127.0.0.1:${ports.outside}/x`, { headers: { baggage: 'user=42' } }));
      expect(seen.server).toBe('outside');
      expect(seen.headers['x-mse-tag']).toBeUndefined();
      expect(seen.headers.baggage).toBe('user=42');
      expect(selections).toEqual([]);
    });

    test('a redirect within the service is routed again in the lane', async () => {
      const seen = await withLane('gray', () => get('http://b/redirect?to=/final'));
      expect(seen).toMatchObject({ server: 'b-gray', path: '/final' });
      expect(seen.headers['x-mse-tag']).toBe('gray');
      expect(selections).toHaveLength(2);
    });

    test('a redirect to a third party does not leak the lane', async () => {
      const to = encodeURIComponent(`http://127.0.0.1:${ports.outside}/landing`);
      const seen = await withLane('gray', () => get(`http://b/redirect?to=${to}`));
      expect(seen).toMatchObject({ server: 'outside', path: '/landing' });
      expect(seen.headers['x-mse-tag']).toBeUndefined();
      expect(seen.headers.baggage).toBeUndefined();
    });

    // Node's global fetch lives outside jest's vm realm and wraps a cause that is not one of its own
    // Errors in a plain Error, so these use undici's fetch, loaded in the test's realm. The fixture
    // of the last test checks the real global fetch.
    test('no instance at all rejects with fetch failed, caused by the typed error naming service and lane', async () => {
      router.update('c', []);
      const inRealm = createLaneFetch({ router, fetch: undiciFetch as unknown as typeof fetch });
      const error = await withLane('gray', () => inRealm('http://c/x')).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TypeError);
      expect(error).toMatchObject({ message: 'fetch failed' });
      const cause = (error as TypeError).cause;
      expect(isGraylaneError(cause)).toBe(true);
      expect(cause).toMatchObject({ code: ErrorCode.NO_INSTANCE, details: expect.objectContaining({ service: 'c', lane: 'gray' }) });
    });

    test('a strict lane without an instance rejects with the strict-lane error instead of falling back', async () => {
      const inRealm = createLaneFetch({ router, fetch: undiciFetch as unknown as typeof fetch });
      const error = await withLane('secure', () => inRealm('http://b/x')).catch((e: unknown) => e);
      expect((error as TypeError).cause).toMatchObject({ code: ErrorCode.STRICT_LANE, details: expect.objectContaining({ lane: 'secure' }) });
    });

    test('a declared service waits for its first instance list', async () => {
      const declared = createLaneFetch({ router, services: ['late'] });
      setTimeout(() => router.update('late', [instance('late', ports.gray, 'gray')]), 50);
      const response = await withLane('gray', () => declared('http://late/x'));
      expect(((await response.json()) as Seen).server).toBe('b-gray');
    });

    test('a service the router does not know and was not declared passes through (and fails to resolve)', async () => {
      await expect(laneFetch('http://unknown-service.invalid/x')).rejects.toMatchObject({
        message: 'fetch failed',
        cause: expect.objectContaining({ code: 'ENOTFOUND' }),
      });
      expect(selections).toEqual([]);
    });

    test('an onSelect that throws does not fail the request', async () => {
      const noisy = createLaneFetch({
        router,
        onSelect: () => {
          throw new Error('hook failure');
        },
      });
      expect((await noisy('http://b/x')).status).toBe(200);
    });

    test('the dispatcher of a call wins, composed with the routing', async () => {
      let dispatched = 0;
      class Counting extends Agent {
        override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandlers): boolean {
          dispatched++;
          return super.dispatch(options, handler);
        }
      }
      const agent = new Counting();
      const seen = await withLane('gray', () => get('http://b/x', { dispatcher: agent } as RequestInit));
      expect(seen.server).toBe('b-gray');
      expect(dispatched).toBe(1);
      await agent.close();
    });
  });

  describe('the lane is the caller’s, at dispatch', () => {
    test('200 concurrent requests queued on one connection per instance each reach their own lane', async () => {
      const oneConnection = new Agent({ connections: 1 });
      const routed = createLaneFetch({ router, dispatcher: oneConnection });
      const lanes = ['gray', undefined, 'blue', 'gray'];
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          withLane(lanes[i % lanes.length], async () => {
            await new Promise((resolve) => setTimeout(resolve, i % 3));
            const response = await routed('http://b/x', { method: 'POST', body: Readable.from([`#${i}`]), duplex: 'half' } as RequestInit);
            const seen = (await response.json()) as Seen;
            return { lane: lanes[i % lanes.length], seen, after: getLane() };
          }),
        ),
      );
      await oneConnection.close();
      for (const { lane, seen, after } of results) {
        expect(seen.server).toBe(lane === 'gray' ? 'b-gray' : 'b-base');
        expect(seen.headers['x-mse-tag']).toBe(lane);
        expect(after).toBe(lane);
      }
    });
  });

  describe('laneInterceptor with undici', () => {
    let agent: Dispatcher;
    beforeAll(() => void (agent = new Agent().compose(laneInterceptor({ router }))));
    afterAll(() => agent.close());

    test('undici.request is routed, headers given as an array are kept, and the baggage merged', async () => {
      const { body } = await withLane('gray', () =>
        request('http://b/y', { dispatcher: agent, headers: ['x-user', 'u1', 'baggage', 'user=42'] }),
      );
      const seen = (await body.json()) as Seen;
      expect(seen.server).toBe('b-gray');
      expect(seen.headers['x-user']).toBe('u1');
      expect(String(seen.headers.baggage).split(',').sort()).toEqual(['lane=gray', 'user=42']);
    });

    test('carriers the caller spelled in another case are replaced, not sent twice', async () => {
      const { body } = await withLane('gray', () =>
        request('http://b/y', { dispatcher: agent, headers: { 'X-Mse-Tag': 'old', Baggage: 'user=42,lane=old', 'X-User': 'u1' } }),
      );
      const seen = (await body.json()) as Seen;
      expect(seen.headers['x-mse-tag']).toBe('gray');
      expect(seen.headers['x-user']).toBe('u1');
      expect(String(seen.headers.baggage).split(',').sort()).toEqual(['lane=gray', 'user=42']);
    });

    test('undici.request rejects with the typed error itself', async () => {
      await expect(withLane('gray', () => request('http://c/y', { dispatcher: agent }))).rejects.toMatchObject({
        code: ErrorCode.NO_INSTANCE,
      });
    });
  });

  describe('installGlobalLaneDispatcher', () => {
    // Jest runs tests in a vm context whose globalThis is not the one Node's fetch reads its dispatcher
    // from, so this runs in a plain Node process against the build.
    test('routes the real global fetch until uninstalled', async () => {
      const { stdout } = await run(process.execPath, [join(__dirname, 'fixtures', 'global-fetch.cjs')], { timeout: 10_000 });
      expect(JSON.parse(stdout)).toEqual({
        routed: { server: 'b-gray', lane: 'gray' },
        base: { server: 'b-base', lane: null },
        noInstance: { error: 'fetch failed', code: ErrorCode.NO_INSTANCE, graylane: true },
        uninstalled: { error: 'fetch failed', graylane: false },
      });
    });
  });
});
