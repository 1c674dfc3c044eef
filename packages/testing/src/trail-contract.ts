/**
 * The debug-trail contract every outbound adapter honours (axios, fetch/undici, node:http): when
 * the calling request has a trail, the trail header of each callee's response is added to it,
 * whatever the status; without one, nothing is collected and calls are unchanged. Call
 * {@link describeTrailContract} from a test file with the adapter; the suite starts its own
 * servers on 127.0.0.1, port 0, and closes them.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { context } from '@opentelemetry/api';
import { laneMetadata } from '@graylane/core';
import { TRAIL_HEADER, createLaneTrail, ensureContextManager, setLaneTrail } from '@graylane/context';
import type { LaneTrail } from '@graylane/context';
import { createRouter } from '@graylane/router';
import type { LaneRouter } from '@graylane/router';

/** A client of one outbound adapter. */
export interface TrailClient {
  /** GETs `url` from the active context and resolves with the status once the body is read; any status resolves. */
  get(url: string): Promise<number>;
  /** Releases what the client holds. */
  close?(): Promise<void>;
}

/** Runs the trail contract over the clients `client` makes. */
export function describeTrailContract(name: string, client: (router: LaneRouter) => TrailClient): void {
  describe(`trail contract: ${name}`, () => {
    const servers: http.Server[] = [];
    let router: LaneRouter;
    let adapter: TrailClient;

    /** A callee answering `status` with `trail` as its trail header (none when `undefined`). */
    async function callee(service: string, status: number, trail: string | undefined): Promise<void> {
      const server = http.createServer((_req, res) => {
        if (trail !== undefined) res.setHeader(TRAIL_HEADER, trail);
        res.writeHead(status, { 'content-type': 'text/plain' }).end(service);
      });
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      router.update(service, [
        { id: `127.0.0.1:${port}`, service, host: '127.0.0.1', port, lane: undefined, weight: 1, healthy: true, enabled: true, metadata: laneMetadata(undefined) },
      ]);
    }

    function inTrail<T>(trail: LaneTrail, fn: () => Promise<T>): Promise<T> {
      return context.with(setLaneTrail(context.active(), trail), fn);
    }

    beforeAll(async () => {
      ensureContextManager();
      router = createRouter(undefined);
      await callee('b', 200, 'b[gray]@127.0.0.1:1 > c[base]@127.0.0.1:2');
      await callee('d', 503, 'd[base]@127.0.0.1:3');
      await callee('e', 200, undefined);
      adapter = client(router);
    });

    afterAll(async () => {
      await adapter.close?.();
      router.close();
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    });

    it("adds the callee's trail to the caller's", async () => {
      const trail = createLaneTrail({ service: 'a', lane: 'gray' });
      await expect(inTrail(trail, () => adapter.get('http://b/x'))).resolves.toBe(200);
      expect(String(trail)).toBe('a[gray] > b[gray]@127.0.0.1:1 > c[base]@127.0.0.1:2');
    });

    it('adds the trails of several callees, and of an error response', async () => {
      const trail = createLaneTrail({ service: 'a' });
      await inTrail(trail, async () => {
        expect(await adapter.get('http://b/x')).toBe(200);
        expect(await adapter.get('http://d/x')).toBe(503);
        expect(await adapter.get('http://e/x')).toBe(200);
      });
      expect(String(trail)).toBe('a[base] > (b[gray]@127.0.0.1:1 > c[base]@127.0.0.1:2, d[base]@127.0.0.1:3)');
    });

    it('keeps concurrent requests apart', async () => {
      const trails = Array.from({ length: 20 }, (_, i) => createLaneTrail({ service: `a${i}` }));
      await Promise.all(trails.map((trail, i) => inTrail(trail, () => adapter.get(i % 2 === 0 ? 'http://b/x' : 'http://d/x'))));
      trails.forEach((trail, i) => expect(String(trail)).toBe(`a${i}[base] > ${i % 2 === 0 ? 'b[gray]@127.0.0.1:1 > c[base]@127.0.0.1:2' : 'd[base]@127.0.0.1:3'}`));
    });

    it('collects nothing, and calls as usual, without a trail', async () => {
      await expect(adapter.get('http://b/x')).resolves.toBe(200);
    });
  });
}
