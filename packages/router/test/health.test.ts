import { ErrorCode } from '@graylane/core';
import { buildLaneIndex, compilePolicy, createRouter, selectFromIndex } from '../src/index.js';
import { errorOf, instance } from './helpers.js';

/** base 1-2, gray 3-6 (5 unhealthy, 6 disabled), rc 7-8, secure 9-10. */
const fleet = [
  instance(1),
  instance(2),
  instance(3, 'gray'),
  instance(4, 'gray'),
  instance(5, 'gray', { healthy: false }),
  instance(6, 'gray', { enabled: false }),
  instance(7, 'rc'),
  instance(8, 'rc'),
  instance(9, 'secure'),
  instance(10, 'secure', { healthy: false }),
];

describe('health policy', () => {
  it('is off by default: a lane with one usable instance serves', () => {
    const index = buildLaneIndex(fleet);
    expect(selectFromIndex(index, 'gray', compilePolicy({}))).toMatchObject({ servedLane: 'gray', fallback: [] });
  });

  it('leaves a lane with fewer usable instances than minHealthy, with reason lane-unhealthy', () => {
    const index = buildLaneIndex(fleet);
    // gray has 2 usable (3, 4): unhealthy and disabled instances do not count.
    expect(selectFromIndex(index, 'gray', compilePolicy({ health: { default: { minHealthy: 2 } } }))).toMatchObject({ servedLane: 'gray' });
    const s = selectFromIndex(index, 'gray', compilePolicy({ health: { default: { minHealthy: 3 } } }));
    expect(s).toMatchObject({ requestedLane: 'gray', servedLane: undefined, fallback: [{ lane: 'gray', reason: 'lane-unhealthy' }] });
    expect([1, 2]).toContain(s.instance.port);
  });

  it('leaves a lane below minHealthyPercent of its listed instances', () => {
    const index = buildLaneIndex(fleet);
    // gray: 2 usable of 4 listed = 50 %.
    const at = (minHealthyPercent: number) => selectFromIndex(index, 'gray', compilePolicy({ health: { default: { minHealthyPercent } } }));
    expect(at(50).servedLane).toBe('gray');
    expect(at(50.1)).toMatchObject({ servedLane: undefined, fallback: [{ lane: 'gray', reason: 'lane-unhealthy' }] });
    expect(at(100).fallback).toEqual([{ lane: 'gray', reason: 'lane-unhealthy' }]);
  });

  it('applies either bound: below one of them is enough', () => {
    const index = buildLaneIndex(fleet);
    const policy = compilePolicy({ health: { default: { minHealthy: 1, minHealthyPercent: 75 } } });
    expect(selectFromIndex(index, 'gray', policy).fallback).toEqual([{ lane: 'gray', reason: 'lane-unhealthy' }]);
    expect(selectFromIndex(index, 'rc', policy).servedLane).toBe('rc'); // 2 of 2
  });

  it('lets a per-lane entry override the default, and {} exempt a lane', () => {
    const index = buildLaneIndex(fleet);
    const policy = compilePolicy({ health: { default: { minHealthy: 3 }, lanes: { gray: {}, rc: { minHealthy: 2 } } } });
    expect(selectFromIndex(index, 'gray', policy).servedLane).toBe('gray');
    expect(selectFromIndex(index, 'rc', policy).servedLane).toBe('rc');
    const only = compilePolicy({ health: { lanes: { rc: { minHealthy: 3 } } } });
    expect(selectFromIndex(index, 'rc', only).fallback).toEqual([{ lane: 'rc', reason: 'lane-unhealthy' }]);
    expect(selectFromIndex(index, 'gray', only).servedLane).toBe('gray'); // no default: no bound
  });

  it('walks the fallback chain past a thin lane, recording each lane passed over', () => {
    const index = buildLaneIndex(fleet);
    const policy = compilePolicy({ fallback: { feature: ['gray', 'rc'] }, health: { default: { minHealthy: 3 }, lanes: { rc: {} } } });
    expect(selectFromIndex(index, 'feature', policy)).toMatchObject({
      servedLane: 'rc',
      fallback: [
        { lane: 'feature', reason: 'no-instance' },
        { lane: 'gray', reason: 'lane-unhealthy' },
      ],
    });
  });

  it('fails a strict lane left by the policy with STRICT_LANE', () => {
    const index = buildLaneIndex(fleet);
    const policy = compilePolicy({ strict: ['secure'], health: { default: { minHealthy: 2 } } });
    const error = errorOf(() => selectFromIndex(index, 'secure', policy));
    expect(error.code).toBe(ErrorCode.STRICT_LANE);
    expect(error.details).toMatchObject({ lane: 'secure', reason: 'lane-unhealthy', tried: ['secure'] });
  });

  it('never applies to base: base serves what it has', () => {
    const index = buildLaneIndex([instance(1), instance(2, undefined, { healthy: false }), instance(3, 'gray')]);
    const policy = compilePolicy({ health: { default: { minHealthy: 5, minHealthyPercent: 100 } } });
    expect(selectFromIndex(index, undefined, policy)).toMatchObject({ servedLane: undefined, fallback: [] });
    expect(selectFromIndex(index, 'gray', policy)).toMatchObject({
      instance: { port: 1 },
      fallback: [{ lane: 'gray', reason: 'lane-unhealthy' }],
    });
  });

  it('applies on retries too (select with unreachable)', () => {
    const router = createRouter(undefined, { health: { default: { minHealthy: 3 } } });
    router.update('orders', fleet);
    expect(router.select('orders', 'gray', { unreachable: new Set(['10.0.0.1:1']) })).toMatchObject({
      instance: { port: 2 },
      fallback: [{ lane: 'gray', reason: 'lane-unhealthy' }],
    });
  });

  it('keeps a lane that has no usable instance at all on its own reason', () => {
    const index = buildLaneIndex([instance(1), instance(3, 'gray', { healthy: false })]);
    const policy = compilePolicy({ health: { default: { minHealthy: 1 } } });
    expect(selectFromIndex(index, 'gray', policy).fallback).toEqual([{ lane: 'gray', reason: 'all-unhealthy' }]);
  });
});

describe('health policy: configuration', () => {
  it('is taken at creation and changed by setPolicy, which keeps what it is not given', () => {
    const router = createRouter(undefined, { fallback: { feature: ['gray'] }, health: { default: { minHealthy: 3 } } });
    router.update('orders', fleet);
    expect(router.select('orders', 'gray').fallback).toEqual([{ lane: 'gray', reason: 'lane-unhealthy' }]);
    router.setPolicy({ fallback: {} });
    expect(router.select('orders', 'gray').servedLane).toBeUndefined(); // health kept
    router.setPolicy({ health: { default: { minHealthy: 2 } } });
    expect(router.select('orders', 'gray').servedLane).toBe('gray');
    router.setPolicy({ health: { lanes: { gray: { minHealthyPercent: 100 } } } });
    expect(router.select('orders', 'gray').servedLane).toBeUndefined();
    router.setPolicy({ health: undefined });
    expect(router.select('orders', 'gray').servedLane).toBe('gray');
  });

  it('rejects invalid input with CONFIG_INVALID listing every issue by path, and keeps the old policy', () => {
    const router = createRouter(undefined, { health: { default: { minHealthy: 3 } } });
    router.update('orders', fleet);
    const error = errorOf(() =>
      router.setPolicy({
        health: {
          default: { minHealthy: -1, minHealthyPercent: 120 },
          lanes: { base: { minHealthy: 1 }, 'not valid': {}, gray: { minHealty: 2 } as never, rc: 3 as never },
        },
      }),
    );
    expect(error.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(error.details['issues']).toEqual([
      'health.default.minHealthy: must be a whole number, 0 or more, got -1',
      'health.default.minHealthyPercent: must be a number from 0 to 100, got 120',
      'health.lanes["base"]: the base lane has no health policy (it always serves what it has)',
      'health.lanes["not valid"]: "not valid" is not a lane name',
      'health.lanes["gray"].minHealty: unknown field (expected minHealthy, minHealthyPercent)',
      'health.lanes["rc"]: expected an object with minHealthy and/or minHealthyPercent',
    ]);
    expect(router.select('orders', 'gray').fallback).toEqual([{ lane: 'gray', reason: 'lane-unhealthy' }]);
    expect(() => createRouter(undefined, { health: { default: { minHealthy: 1.5 } } })).toThrow(/health\.default\.minHealthy/);
    expect(() => createRouter(undefined, { health: [] as never })).toThrow(/health: expected an object/);
    expect(() => createRouter(undefined, { health: { lanes: [] as never } })).toThrow(/health\.lanes: expected an object/);
  });
});
