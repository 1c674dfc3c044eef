import { ErrorCode, type Instance } from '@graylane/core';
import { createRouter, OUTLIER_DEFAULTS } from '../src/index.js';
import type { LaneRouter, RouterOptions } from '../src/index.js';
import { errorOf, instance, manualClock, tally } from './helpers.js';

const id = (port: number) => `10.0.0.1:${port}`;
const ref = (port: number) => ({ service: 'orders', id: id(port) });

/** base 1-2, gray 3-4, rc 5. */
const fleet: Instance[] = [instance(1), instance(2), instance(3, 'gray'), instance(4, 'gray'), instance(5, 'rc')];

function setup(options: RouterOptions = {}, list: readonly Instance[] = fleet) {
  const clock = manualClock();
  const router = createRouter(undefined, { clock, outlier: { consecutiveFailures: 3, ejectMs: 1000, maxEjectMs: 5000 }, ...options });
  router.update('orders', list);
  const fail = (port: number, times = 1) => {
    for (let i = 0; i < times; i++) router.reportFailure(ref(port), 'connect-failed');
  };
  const ports = (lane: string | undefined, n = 40) => [...tally(n, () => router.select('orders', lane).instance).keys()].sort();
  return { clock, router, fail, ports };
}

describe('outlier ejection', () => {
  it('is off by default: failures are ignored', () => {
    const router = createRouter(undefined, { clock: manualClock() });
    router.update('orders', fleet);
    for (let i = 0; i < 100; i++) router.reportFailure(ref(3), 'connect-failed');
    expect(router.ejected('orders')).toEqual([]);
    expect(new Set(tally(20, () => router.select('orders', 'gray').instance).keys())).toEqual(new Set([id(3), id(4)]));
  });

  it('has documented defaults', () => {
    expect(OUTLIER_DEFAULTS).toEqual({ consecutiveFailures: 5, windowMs: 10_000, ejectMs: 30_000, maxEjectMs: 300_000, maxEjectedPercent: 50 });
    const clock = manualClock();
    const router = createRouter(undefined, { clock, outlier: {} });
    router.update('orders', fleet);
    for (let i = 0; i < 4; i++) router.reportFailure(ref(3));
    expect(router.ejected('orders')).toEqual([]);
    router.reportFailure(ref(3));
    expect(router.ejected('orders')).toEqual([id(3)]);
    clock.advance(29_999);
    expect(router.ejected('orders')).toEqual([id(3)]);
    clock.advance(1);
    expect(router.ejected('orders')).toEqual([]);
  });

  it('ejects an instance after consecutiveFailures in a row: not chosen, the lane keeps serving', () => {
    const { router, fail, ports } = setup();
    fail(3, 2);
    expect(ports('gray')).toEqual([id(3), id(4)]);
    fail(3);
    expect(router.ejected('orders')).toEqual([id(3)]);
    expect(ports('gray')).toEqual([id(4)]);
    // Served in its lane, no fallback: ejection only spares the retries.
    expect(router.select('orders', 'gray')).toMatchObject({ servedLane: 'gray', fallback: [] });
    // Failures of calls sent before the ejection change nothing.
    fail(3, 10);
    expect(router.ejected('orders')).toEqual([id(3)]);
  });

  it('tries an ejected instance again once its time has passed', () => {
    const { clock, router, fail, ports } = setup();
    fail(3, 3);
    clock.advance(999);
    expect(ports('gray')).toEqual([id(4)]);
    clock.advance(1);
    expect(ports('gray')).toEqual([id(3), id(4)]);
    expect(router.ejected('orders')).toEqual([]);
  });

  it('ejects again for longer, up to maxEjectMs, and starts over after maxEjectMs without ejection', () => {
    const { clock, router, fail } = setup();
    const ejectedFor = () => {
      fail(3, 3);
      let ms = 0;
      while (router.ejected('orders').length > 0) {
        clock.advance(100);
        ms += 100;
      }
      return ms;
    };
    expect([ejectedFor(), ejectedFor(), ejectedFor(), ejectedFor(), ejectedFor(), ejectedFor(), ejectedFor()]).toEqual([
      1000, 2000, 3000, 4000, 5000, 5000, 5000,
    ]);
    clock.advance(5001);
    expect(ejectedFor()).toBe(1000);
  });

  it('counts failures in a row only: a success, or a gap over windowMs, starts the count over', () => {
    const { clock, router, fail } = setup({ outlier: { consecutiveFailures: 3, windowMs: 500 } });
    fail(3, 2);
    router.reportSuccess(ref(3));
    fail(3, 2);
    expect(router.ejected('orders')).toEqual([]);
    clock.advance(501);
    fail(3, 2);
    expect(router.ejected('orders')).toEqual([]);
    clock.advance(500);
    fail(3);
    expect(router.ejected('orders')).toEqual([id(3)]);
  });

  it('never ejects more than maxEjectedPercent of a lane', () => {
    const list = [instance(1), ...[11, 12, 13, 14].map((p) => instance(p, 'gray'))];
    const { router, fail, ports } = setup({ outlier: { consecutiveFailures: 1, maxEjectedPercent: 50 } }, list);
    fail(11);
    fail(12);
    fail(13);
    fail(14);
    expect([...router.ejected('orders')].sort()).toEqual([id(11), id(12)]);
    expect(ports('gray')).toEqual([id(13), id(14)]);
    // 25 %: one of four.
    const quarter = setup({ outlier: { consecutiveFailures: 1, maxEjectedPercent: 25 } }, list);
    quarter.fail(11);
    quarter.fail(12);
    expect(quarter.router.ejected('orders')).toEqual([id(11)]);
  });

  it('never ejects the last usable instance of a lane, not even at 100 %, nor base', () => {
    const { router, fail, ports } = setup({ outlier: { consecutiveFailures: 1, maxEjectedPercent: 100 } });
    fail(3);
    fail(4);
    expect(router.ejected('orders')).toEqual([id(3)]);
    expect(ports('gray')).toEqual([id(4)]);
    fail(5, 5); // rc has one instance
    fail(1);
    fail(2); // base: 1 ejected, 2 is the last
    expect([...router.ejected('orders')].sort()).toEqual([id(1), id(3)]);
    expect(ports(undefined)).toEqual([id(2)]);
    expect(router.select('orders', 'rc').instance.port).toBe(5);
  });

  it('counts ejected instances out of a health policy, so a thin lane falls back', () => {
    const { clock, router, fail } = setup({ health: { default: { minHealthy: 2 } } });
    expect(router.select('orders', 'gray').servedLane).toBe('gray');
    fail(3, 3);
    expect(router.select('orders', 'gray')).toMatchObject({ servedLane: undefined, fallback: [{ lane: 'gray', reason: 'lane-unhealthy' }] });
    clock.advance(1000);
    expect(router.select('orders', 'gray')).toMatchObject({ servedLane: 'gray', fallback: [] });
  });

  it('a strict lane thinned by an ejection fails with STRICT_LANE', () => {
    const { router, fail } = setup({ strict: ['gray'], health: { lanes: { gray: { minHealthy: 2 } } } });
    fail(4, 3);
    expect(errorOf(() => router.select('orders', 'gray')).code).toBe(ErrorCode.STRICT_LANE);
    expect(router.select('orders', undefined).servedLane).toBeUndefined();
  });

  it('forgets instances that left the list, and ignores reports about unknown ones', () => {
    const { clock, router, fail, ports } = setup();
    const without = (port: number) => fleet.filter((i) => i.port !== port);
    fail(3, 3);
    expect(router.ejected('orders')).toEqual([id(3)]);
    router.update('orders', without(3));
    expect(router.ejected('orders')).toEqual([]);
    router.update('orders', fleet); // back: a fresh start, served again
    expect(ports('gray')).toEqual([id(3), id(4)]);
    // Failures in a row are forgotten with the instance...
    fail(4, 2);
    router.update('orders', without(4));
    router.update('orders', fleet);
    fail(4);
    expect(router.ejected('orders')).toEqual([]);
    // ...but remembered while it stays listed.
    fail(4, 2);
    router.update('orders', [...fleet, instance(6, 'gray')]);
    fail(4);
    expect(router.ejected('orders')).toEqual([id(4)]);
    clock.advance(1000);
    // Its ejection count too: ejected again after coming back, it is out for ejectMs, not 2 × ejectMs.
    router.update('orders', without(4));
    router.update('orders', fleet);
    fail(4, 3);
    expect(router.ejected('orders')).toEqual([id(4)]);
    clock.advance(1000);
    expect(router.ejected('orders')).toEqual([]);
    router.reportFailure({ service: 'orders', id: 'gone:1' });
    router.reportFailure({ service: 'nobody', id: id(1) });
    router.reportSuccess({ service: 'nobody', id: id(1) });
    expect(router.ejected('nobody')).toEqual([]);
    expect(router.ejected('orders')).toEqual([]);
  });

  it('keeps an ejection across a list change that still lists the instance', () => {
    const { router, fail, ports } = setup();
    fail(3, 3);
    router.update('orders', [...fleet, instance(6, 'gray')]);
    expect(ports('gray')).toEqual([id(4), id(6)]);
  });

  it('serves an ejected instance again when the others of its lane became unusable', () => {
    const { router, fail, ports } = setup();
    fail(3, 3);
    router.update('orders', fleet.map((i) => (i.port === 4 ? { ...i, healthy: false } : i)));
    expect(ports('gray')).toEqual([id(3)]);
  });

  it('is turned on and off by setPolicy; off lifts every ejection; invalid input keeps the old policy', () => {
    const clock = manualClock();
    const router: LaneRouter = createRouter(undefined, { clock });
    router.update('orders', fleet);
    router.setPolicy({ outlier: { consecutiveFailures: 1 } });
    router.reportFailure(ref(3));
    expect(router.ejected('orders')).toEqual([id(3)]);
    const error = errorOf(() =>
      router.setPolicy({ outlier: { consecutiveFailures: 0, ejectMs: -1, maxEjectedPercent: 101, windowMs: Infinity, often: 1 } as never }),
    );
    expect(error.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(error.details['issues']).toEqual([
      'outlier.often: unknown field (expected consecutiveFailures, windowMs, ejectMs, maxEjectMs, maxEjectedPercent)',
      'outlier.consecutiveFailures: must be a whole number, 1 or more, got 0',
      'outlier.windowMs: must be a positive number of milliseconds, got Infinity',
      'outlier.ejectMs: must be a positive number of milliseconds, got -1',
      'outlier.maxEjectedPercent: must be a number from 0 to 100, got 101',
    ]);
    expect(router.ejected('orders')).toEqual([id(3)]);
    router.setPolicy({ fallback: { x: ['gray'] } }); // outlier kept
    expect(router.ejected('orders')).toEqual([id(3)]);
    router.setPolicy({ outlier: false });
    expect(router.ejected('orders')).toEqual([]);
    router.reportFailure(ref(4));
    expect(router.ejected('orders')).toEqual([]);
    expect(() => createRouter(undefined, { outlier: 5 as never })).toThrow(/outlier: expected an object/);
  });

  it('leaves the request path of a service without failures as it was: shared selections', () => {
    const { router } = setup();
    const first = router.select('orders', 'gray');
    const seen = new Set(Array.from({ length: 10 }, () => router.select('orders', 'gray')));
    expect(seen.size).toBe(2);
    expect(seen.has(first)).toBe(true);
  });
});
