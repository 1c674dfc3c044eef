import { ErrorCode } from '@graylane/core';
import { createRouter } from '../src/index.js';
import type { LaneRouter } from '../src/index.js';
import { errorOf, instance } from './helpers.js';

/** ids of `ports` on the helpers' host. */
const ids = (...ports: number[]) => new Set(ports.map((p) => `10.0.0.1:${p}`));

describe('select with unreachable instances', () => {
  let router: LaneRouter;

  beforeEach(() => {
    router = createRouter(undefined, { fallback: { feature: ['rc'] }, strict: ['secure'] });
    router.update('orders', [
      instance(1),
      instance(2),
      instance(3, 'gray'),
      instance(4, 'gray'),
      instance(5, 'rc'),
      instance(6, 'secure'),
      instance(7, 'secure'),
      instance(8, 'feature'),
    ]);
  });

  it('stays in the lane while an instance of it is left, with no fallback recorded', () => {
    for (let i = 0; i < 10; i++) {
      const s = router.select('orders', 'gray', { unreachable: ids(3) });
      expect(s.instance.port).toBe(4);
      expect(s).toMatchObject({ requestedLane: 'gray', servedLane: 'gray', fallback: [] });
    }
  });

  it('passes over a lane whose instances are all unreachable, with reason connect-failed, then follows the chain', () => {
    expect(router.select('orders', 'feature', { unreachable: ids(8) })).toMatchObject({
      servedLane: 'rc',
      fallback: [{ lane: 'feature', reason: 'connect-failed' }],
    });
    expect(router.select('orders', 'feature', { unreachable: ids(8, 5) })).toMatchObject({
      servedLane: undefined,
      fallback: [
        { lane: 'feature', reason: 'connect-failed' },
        { lane: 'rc', reason: 'connect-failed' },
      ],
    });
  });

  it('records the usual reason for lanes that had no usable instance anyway', () => {
    const s = router.select('orders', 'blue', { unreachable: ids(1) });
    expect(s.instance.port).toBe(2);
    expect(s.fallback).toEqual([{ lane: 'blue', reason: 'no-instance' }]);
  });

  it('never leaves a strict lane: STRICT_LANE once its instances are all unreachable', () => {
    expect(router.select('orders', 'secure', { unreachable: ids(6) }).instance.port).toBe(7);
    const error = errorOf(() => router.select('orders', 'secure', { unreachable: ids(6, 7) }));
    expect(error.code).toBe(ErrorCode.STRICT_LANE);
    expect(error.details).toMatchObject({ service: 'orders', lane: 'secure', reason: 'connect-failed', tried: ['secure'] });
  });

  it('fails with NO_INSTANCE naming every lane tried once base is unreachable too', () => {
    const error = errorOf(() => router.select('orders', 'gray', { unreachable: ids(1, 2, 3, 4) }));
    expect(error.code).toBe(ErrorCode.NO_INSTANCE);
    expect(error.details).toMatchObject({ tried: ['gray', 'base'], reason: 'connect-failed' });
    expect(error.message).toContain('gray (connect-failed) → base (connect-failed)');
  });

  it('takes the cached path for an empty set: the same shared selections', () => {
    const seen = new Set([router.select('orders', 'gray'), router.select('orders', 'gray')]);
    expect(seen.has(router.select('orders', 'gray', { unreachable: new Set() }))).toBe(true);
  });

  it('walks the instance list current at the retry', () => {
    router.update('orders', [instance(1), instance(9, 'gray')]);
    expect(router.select('orders', 'gray', { unreachable: ids(3, 4) })).toMatchObject({ servedLane: 'gray', fallback: [] });
  });
});
