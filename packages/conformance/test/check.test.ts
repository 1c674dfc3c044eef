import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkCarriers, checkLaneHops, checkUnmarkedHops, parseTrail, toJUnit, verifyLane } from '../src/index.js';

describe('parseTrail', () => {
  it('reads a chain and branches depth first', () => {
    expect(parseTrail('gateway[base]@127.0.0.1:8080 > a[gray]@127.0.0.1:1 > (b[base]@h:2 > c[gray]@h:3, d[base])')).toEqual([
      { service: 'gateway', lane: 'base', address: '127.0.0.1:8080', colored: false },
      { service: 'a', lane: 'gray', address: '127.0.0.1:1', colored: false },
      { service: 'b', lane: 'base', address: 'h:2', colored: false },
      { service: 'c', lane: 'gray', address: 'h:3', colored: false },
      { service: 'd', lane: 'base', address: undefined, colored: false },
    ]);
    expect(() => parseTrail('a[gray] > nonsense')).toThrow(/not a trail hop/);
  });

  it('reads a hop where the request was colored (a[gray*])', () => {
    expect(parseTrail('a[gray*]@127.0.0.1:1 > b[base] > c[gray]')).toEqual([
      { service: 'a', lane: 'gray', address: '127.0.0.1:1', colored: true },
      { service: 'b', lane: 'base', address: undefined, colored: false },
      { service: 'c', lane: 'gray', address: undefined, colored: false },
    ]);
    expect(() => parseTrail('a[gr*ay]')).toThrow(/not a trail hop/);
  });
});

describe('checks', () => {
  const hops = parseTrail('gateway[base] > a[gray] > b[base] > c[gray]');
  it('gray where the lane has an instance, base (fallback) elsewhere', () => {
    expect(checkLaneHops(hops, { lane: 'gray', laneServices: ['a', 'c'] }).map((h) => [h.service, h.ok, h.why])).toEqual([
      ['gateway', true, 'fallback'],
      ['a', true, 'lane'],
      ['b', true, 'fallback'],
      ['c', true, 'lane'],
    ]);
    expect(checkLaneHops(hops, { lane: 'gray', laneServices: ['a', 'b', 'c'] }).filter((h) => !h.ok).map((h) => h.service)).toEqual(['b']);
  });
  it('an unmarked request that touched a gray instance is a leak', () => {
    expect(checkUnmarkedHops(hops).filter((h) => !h.ok).map((h) => h.service)).toEqual(['a', 'c']);
  });
  it('carriers at the last hop', () => {
    expect(checkCarriers({ 'X-Mse-Tag': 'gray', baggage: 'k=v,lane=gray;p=1' }, 'gray', ['x-mse-tag', 'baggage']).map((f) => f.ok)).toEqual([true, true]);
    expect(checkCarriers({ baggage: 'lane=blue' }, 'gray', ['x-mse-tag', 'baggage']).map((f) => f.ok)).toEqual([false, false]);
  });
});

describe('verifyLane against a real server', () => {
  it('fails on a server that answers every request from gray, with a JUnit failure per wrong hop', async () => {
    // One real HTTP server standing for a chain whose B hop is (wrongly) in gray for every request.
    const server = createServer((req, res) => {
      const gray = req.url?.includes('group=gray');
      res.setHeader('x-graylane-trail', `gateway[base] > a[${gray ? 'gray' : 'base'}] > b[gray]`);
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const entry = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const result = await verifyLane({ lane: 'gray', entry, path: '/a?group=gray', laneServices: ['a'] });
      expect(result.passed).toBe(false);
      expect(result.marked.problems).toEqual([expect.stringContaining('b served gray, expected base')]);
      expect(result.unmarked.problems).toEqual([expect.stringContaining('b served gray, expected base')]);
      expect(toJUnit(result)).toContain('failures="2"');
      const ok = await verifyLane({ lane: 'gray', entry, path: '/a?group=gray', laneServices: ['a', 'b'] });
      expect(ok.marked.problems).toEqual([]);
      expect(ok.passed).toBe(false); // the unmarked request still leaks into b[gray]
    } finally {
      server.close();
    }
  });
  it('fails when nothing answers', async () => {
    const result = await verifyLane({ lane: 'gray', entry: 'http://127.0.0.1:9', laneServices: [], timeoutMs: 1000 });
    expect(result.passed).toBe(false);
    expect(result.marked.problems.length).toBe(1);
  });
});
