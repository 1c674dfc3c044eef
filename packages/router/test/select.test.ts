import { ErrorCode } from '@graylane/core';
import { buildLaneIndex, compilePolicy, selectFromIndex } from '../src/index.js';
import { errorOf, instance, tally } from './helpers.js';

describe('selectFromIndex: lanes', () => {
  const fleet = [instance(1), instance(2), instance(3, 'gray'), instance(4, 'rc'), instance(5, 'other')];

  it('serves a lane from its own instances, with no fallback recorded', () => {
    const index = buildLaneIndex(fleet);
    for (let i = 0; i < 10; i++) {
      const s = selectFromIndex(index, 'gray');
      expect(s.instance.port).toBe(3);
      expect(s).toMatchObject({ service: 'orders', requestedLane: 'gray', servedLane: 'gray', fallback: [] });
    }
  });

  it('sends a request without a lane only to base instances', () => {
    const index = buildLaneIndex(fleet);
    const ports = new Set<number>();
    for (let i = 0; i < 50; i++) ports.add(selectFromIndex(index, undefined).instance.port);
    expect([...ports].sort()).toEqual([1, 2]);
  });

  it('reads the lane "base" and the empty lane as no lane', () => {
    const index = buildLaneIndex(fleet);
    expect(selectFromIndex(index, 'base')).toMatchObject({ requestedLane: undefined, servedLane: undefined, fallback: [] });
    expect(selectFromIndex(index, '').servedLane).toBeUndefined();
  });

  it('counts instances labelled "base" as base instances', () => {
    const index = buildLaneIndex([instance(1, 'base'), instance(2, 'gray')]);
    expect(selectFromIndex(index, undefined).instance.port).toBe(1);
  });

  it('regression: falls back to base, never to an instance of another lane', () => {
    // Only lanes other than the requested one and a single base instance: every pick must be base.
    const index = buildLaneIndex([instance(1, 'a'), instance(2, 'b'), instance(3, 'c'), instance(9)]);
    for (let i = 0; i < 100; i++) {
      const s = selectFromIndex(index, 'feature-x');
      expect(s.instance.port).toBe(9);
      expect(s.servedLane).toBeUndefined();
      expect(s.fallback).toEqual([{ lane: 'feature-x', reason: 'no-instance' }]);
    }
  });

  it('walks a fallback chain in order before base', () => {
    const policy = compilePolicy({ fallback: { 'feature-x': ['rc', 'gray'] } });
    const withRc = buildLaneIndex(fleet);
    expect(selectFromIndex(withRc, 'feature-x', policy)).toMatchObject({
      servedLane: 'rc',
      fallback: [{ lane: 'feature-x', reason: 'no-instance' }],
    });
    const withoutRc = buildLaneIndex(fleet.filter((i) => i.lane !== 'rc'));
    expect(selectFromIndex(withoutRc, 'feature-x', policy)).toMatchObject({
      servedLane: 'gray',
      fallback: [
        { lane: 'feature-x', reason: 'no-instance' },
        { lane: 'rc', reason: 'no-instance' },
      ],
    });
    const onlyBase = buildLaneIndex([instance(1), instance(5, 'other')]);
    expect(selectFromIndex(onlyBase, 'feature-x', policy)).toMatchObject({
      servedLane: undefined,
      fallback: [
        { lane: 'feature-x', reason: 'no-instance' },
        { lane: 'rc', reason: 'no-instance' },
        { lane: 'gray', reason: 'no-instance' },
      ],
    });
  });

  it('does not follow chains transitively', () => {
    const policy = compilePolicy({ fallback: { a: ['b'], b: ['c'] } });
    const index = buildLaneIndex([instance(1), instance(3, 'c')]);
    expect(selectFromIndex(index, 'a', policy).servedLane).toBeUndefined();
    expect(selectFromIndex(index, 'b', policy).servedLane).toBe('c');
  });

  it('never falls back from a strict lane', () => {
    const policy = compilePolicy({ strict: ['gray'], fallback: { gray: ['rc'] } });
    const index = buildLaneIndex([instance(1), instance(4, 'rc'), instance(3, 'gray', { healthy: false })]);
    const error = errorOf(() => selectFromIndex(index, 'gray', policy));
    expect(error.code).toBe(ErrorCode.STRICT_LANE);
    expect(error.message).toContain('"gray"');
    expect(error.message).toContain('"orders"');
    expect(error.details).toMatchObject({ service: 'orders', lane: 'gray', tried: ['gray'], reason: 'all-unhealthy' });
    expect(selectFromIndex(index, 'rc', policy).servedLane).toBe('rc');
  });

  it('accepts a predicate for strict lanes, and serves a strict lane that has instances', () => {
    const policy = compilePolicy({ strict: (lane) => lane.startsWith('pr-') });
    const index = buildLaneIndex([instance(1), instance(2, 'pr-7')]);
    expect(selectFromIndex(index, 'pr-7', policy).servedLane).toBe('pr-7');
    expect(errorOf(() => selectFromIndex(index, 'pr-8', policy)).code).toBe(ErrorCode.STRICT_LANE);
    expect(selectFromIndex(index, 'feature', policy).servedLane).toBeUndefined();
  });
});

describe('selectFromIndex: health', () => {
  it('skips unhealthy and disabled instances', () => {
    const index = buildLaneIndex([
      instance(1, 'gray', { healthy: false }),
      instance(2, 'gray', { enabled: false }),
      instance(3, 'gray'),
    ]);
    for (let i = 0; i < 20; i++) expect(selectFromIndex(index, 'gray').instance.port).toBe(3);
  });

  it('records why a lane was passed over', () => {
    const unhealthy = buildLaneIndex([instance(1), instance(2, 'gray', { healthy: false })]);
    expect(selectFromIndex(unhealthy, 'gray').fallback).toEqual([{ lane: 'gray', reason: 'all-unhealthy' }]);
    const disabled = buildLaneIndex([
      instance(1),
      instance(2, 'gray', { enabled: false }),
      instance(3, 'gray', { healthy: false }),
    ]);
    expect(selectFromIndex(disabled, 'gray').fallback).toEqual([{ lane: 'gray', reason: 'all-disabled' }]);
  });

  it('throws NO_INSTANCE naming the service, the lane, the lanes tried and why', () => {
    const policy = compilePolicy({ fallback: { gray: ['rc'] } });
    const index = buildLaneIndex([instance(1, undefined, { healthy: false }), instance(2, 'other')]);
    const error = errorOf(() => selectFromIndex(index, 'gray', policy));
    expect(error.code).toBe(ErrorCode.NO_INSTANCE);
    expect(error.message).toBe(
      'no usable instance of service "orders" for lane "gray": tried gray (no-instance) → rc (no-instance) → base (all-unhealthy)',
    );
    expect(error.details).toEqual({
      service: 'orders',
      lane: 'gray',
      tried: ['gray', 'rc', 'base'],
      reason: 'all-unhealthy',
      steps: [
        { lane: 'gray', reason: 'no-instance' },
        { lane: 'rc', reason: 'no-instance' },
        { lane: 'base', reason: 'all-unhealthy' },
      ],
    });
  });

  it('throws NO_INSTANCE for an empty list, using the service given to the index', () => {
    const error = errorOf(() => selectFromIndex(buildLaneIndex([], { service: 'users' }), undefined));
    expect(error.code).toBe(ErrorCode.NO_INSTANCE);
    expect(error.details).toMatchObject({ service: 'users', lane: 'base', tried: ['base'], reason: 'no-instance' });
  });
});

describe('selectFromIndex: balancing', () => {
  it('round-robins equal weights in id order', () => {
    const index = buildLaneIndex([instance(3), instance(1), instance(2)]);
    const first = selectFromIndex(index, undefined).instance.port;
    const next = [1, 2, 3, 4, 5].map(() => selectFromIndex(index, undefined).instance.port);
    const expected = [1, 2, 3, 4, 5].map((k) => ((first - 1 + k) % 3) + 1);
    expect(next).toEqual(expected);
  });

  it('shares traffic in proportion to weight, interleaved', () => {
    const index = buildLaneIndex([instance(1, 'gray', { weight: 1 }), instance(2, 'gray', { weight: 3 }), instance(3, 'gray', { weight: 6 })]);
    const counts = tally(10_000, () => selectFromIndex(index, 'gray').instance);
    expect(counts.get('10.0.0.1:1')).toBeGreaterThan(950);
    expect(counts.get('10.0.0.1:1')).toBeLessThan(1050);
    expect(counts.get('10.0.0.1:2')).toBeGreaterThan(2950);
    expect(counts.get('10.0.0.1:2')).toBeLessThan(3050);
    // Smoothness: the heaviest instance never gets more than a few picks in a row.
    let run = 0;
    let longest = 0;
    for (let i = 0; i < 1000; i++) {
      run = selectFromIndex(index, 'gray').instance.port === 3 ? run + 1 : 0;
      longest = Math.max(longest, run);
    }
    expect(longest).toBeLessThanOrEqual(3);
  });

  it('supports fractional weights (Nacos weights are doubles)', () => {
    const index = buildLaneIndex([instance(1, undefined, { weight: 0.5 }), instance(2, undefined, { weight: 1.5 })]);
    const counts = tally(8000, () => selectFromIndex(index, undefined).instance);
    expect(Math.abs(counts.get('10.0.0.1:1')! - 2000)).toBeLessThan(100);
  });

  it('never picks weight-0 instances while a weighted one is usable', () => {
    const index = buildLaneIndex([instance(1, undefined, { weight: 0 }), instance(2), instance(3, undefined, { weight: Number.NaN })]);
    for (let i = 0; i < 50; i++) expect(selectFromIndex(index, undefined).instance.port).toBe(2);
  });

  it('serves from weight-0 instances, equally, when they are all the lane has (standby, not fallback)', () => {
    const index = buildLaneIndex([instance(1), instance(2, 'gray', { weight: 0 }), instance(3, 'gray', { weight: 0 })]);
    const counts = tally(100, () => selectFromIndex(index, 'gray').instance);
    expect(counts.get('10.0.0.1:2')).toBe(50);
    expect(counts.get('10.0.0.1:3')).toBe(50);
  });

  it('balances randomly when asked, still by weight', () => {
    const index = buildLaneIndex([instance(1, undefined, { weight: 1 }), instance(2, undefined, { weight: 3 })], { balancer: 'random' });
    const counts = tally(20_000, () => selectFromIndex(index, undefined).instance);
    expect(Math.abs(counts.get('10.0.0.1:1')! - 5000)).toBeLessThan(400);
  });
});

describe('selectFromIndex: allocation', () => {
  it('returns the same immutable Selection for the same instance and lane path', () => {
    const index = buildLaneIndex([instance(1), instance(2, 'gray')]);
    const a = selectFromIndex(index, 'feature');
    const b = selectFromIndex(index, 'feature');
    expect(b).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(a.fallback)).toBe(true);
    expect(selectFromIndex(index, 'gray')).not.toBe(a);
  });

  it('stays correct beyond the route cache for many distinct request lanes', () => {
    const index = buildLaneIndex([instance(1), instance(2, 'gray')]);
    for (let i = 0; i < 3000; i++) expect(selectFromIndex(index, `lane-${i}`).servedLane).toBeUndefined();
    expect(selectFromIndex(index, 'gray').servedLane).toBe('gray');
  });

  it('re-resolves when the policy changes', () => {
    const index = buildLaneIndex([instance(1), instance(2, 'rc')]);
    expect(selectFromIndex(index, 'x').servedLane).toBeUndefined();
    expect(selectFromIndex(index, 'x', compilePolicy({ fallback: { x: ['rc'] } })).servedLane).toBe('rc');
  });
});

describe('compilePolicy', () => {
  it('rejects invalid lane names with every issue listed', () => {
    const error = errorOf(() =>
      compilePolicy({ fallback: { 'bad lane': ['rc'], gray: ['ok', '-no-', 'base', 'x'] }, strict: ['base', 'fine'] }),
    );
    expect(error.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(error.details['issues']).toEqual([
      'fallback["bad lane"]: not a lane name (the base lane has no fallback)',
      'fallback["gray"][1]: "-no-" is not a lane name',
      'fallback["gray"][2]: base is always tried last; remove it or move it to the end',
      'strict[0]: the base lane cannot be strict',
    ]);
  });

  it('drops the lane itself, duplicates and a trailing base from a chain', () => {
    const policy = compilePolicy({ fallback: { gray: ['gray', 'rc', 'rc', 'base'] } });
    expect(policy.chain('gray')).toEqual(['rc']);
    expect(policy.chain('unknown')).toEqual([]);
  });
});

