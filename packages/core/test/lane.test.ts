import fc from 'fast-check';
import { ErrorCode, assertLane, createInstance, isValidLane, laneFromEnv, laneFromMetadata, laneLabel, laneMetadata, parseLane } from '../src/index.js';

describe('lane grammar', () => {
  test.each(['gray', 'feature-x', 'v1.2', 'a', 'A_b-9', 'x'.repeat(63)])('%s is valid', (lane) => {
    expect(isValidLane(lane)).toBe(true);
  });

  test.each(['', '-gray', 'gray-', 'gr ay', 'gray\n', 'x'.repeat(64), 'ü', 'a,b', 'a=b', 'a;b'])('%j is invalid', (lane) => {
    expect(isValidLane(lane)).toBe(false);
  });

  test('parseLane maps empty and base to undefined, invalid to null, and trims', () => {
    expect(parseLane(undefined)).toBeUndefined();
    expect(parseLane('')).toBeUndefined();
    expect(parseLane(' base ')).toBeUndefined();
    expect(parseLane(' gray ')).toBe('gray');
    expect(parseLane('no way')).toBeNull();
  });

  test('parseLane never throws and only returns valid lanes', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), (raw) => {
        const lane = parseLane(raw);
        return lane === undefined || lane === null || isValidLane(lane);
      }),
    );
  });

  test('assertLane throws a typed error naming where the bad value came from', () => {
    expect(() => assertLane('bad lane', 'GRAYLANE_LANE')).toThrow(
      expect.objectContaining({ code: ErrorCode.LANE_INVALID, message: expect.stringContaining('GRAYLANE_LANE') }),
    );
    expect(assertLane('base', 'x')).toBeUndefined();
    expect(laneLabel(undefined)).toBe('base');
  });
});

describe('wire names', () => {
  test('laneMetadata writes every key the fleet reads, as strings', () => {
    expect(laneMetadata('gray')).toEqual({
      'graylane.io/lane': 'gray',
      'alicloud.service.tag': 'gray',
      'OpenSergo-Label': 'gray',
      'opensergo.io/canary-gray': 'gray',
    });
    const base = laneMetadata(undefined);
    expect(Object.values(base).every((v) => v === '')).toBe(true);
    expect(laneFromMetadata(base)).toBeUndefined();
  });

  test('laneFromMetadata reads graylane, MSE, OpenSergo and canary keys', () => {
    expect(laneFromMetadata({ 'alicloud.service.tag': 'gray' })).toBe('gray');
    expect(laneFromMetadata({ 'OpenSergo-Label': 'blue' })).toBe('blue');
    expect(laneFromMetadata({ 'opensergo.io/canary-rc': 'rc' })).toBe('rc');
    expect(laneFromMetadata({ 'graylane.io/lane': 'x', 'alicloud.service.tag': 'y' })).toBe('x');
    expect(laneFromMetadata({ version: 'v2' })).toBeUndefined();
    expect(laneFromMetadata({ 'alicloud.service.tag': 'not a lane' })).toBeUndefined();
    expect(laneFromMetadata(undefined)).toBeUndefined();
  });

  test('laneFromEnv reads the variables MSE and OpenSergo deployments set, in order', () => {
    expect(laneFromEnv({})).toEqual({ lane: undefined, source: undefined });
    expect(laneFromEnv({ MSE_ALICLOUD_SERVICE_TAG: 'gray' })).toEqual({ lane: 'gray', source: 'MSE_ALICLOUD_SERVICE_TAG' });
    expect(laneFromEnv({ 'alicloud.service.tag': 'gray' })).toEqual({ lane: 'gray', source: 'alicloud.service.tag' });
    expect(laneFromEnv({ 'traffic.opensergo.io/label': 'gray' })).toEqual({ lane: 'gray', source: 'traffic.opensergo.io/label' });
    expect(laneFromEnv({ GRAYLANE_LANE: 'rc', MSE_ALICLOUD_SERVICE_TAG: 'gray' })).toEqual({ lane: 'rc', source: 'GRAYLANE_LANE' });
    expect(laneFromEnv({ GRAYLANE_LANE: 'base' })).toEqual({ lane: undefined, source: 'GRAYLANE_LANE' });
    expect(laneFromEnv({ GRAYLANE_LANE: '' , MSE_ALICLOUD_SERVICE_TAG: 'gray'})).toEqual({ lane: 'gray', source: 'MSE_ALICLOUD_SERVICE_TAG' });
    expect(laneFromEnv({ GRAYLANE_LANE: 'bad lane' })).toEqual({ lane: null, source: 'GRAYLANE_LANE' });
  });
});

describe('createInstance', () => {
  test('builds a frozen instance as registries report one, the lane read from its metadata', () => {
    const instance = createInstance({ service: 'b', host: '127.0.0.1', port: 8080, metadata: laneMetadata('gray') });
    expect(instance).toEqual({
      id: '127.0.0.1:8080',
      service: 'b',
      host: '127.0.0.1',
      port: 8080,
      lane: 'gray',
      weight: 1,
      healthy: true,
      enabled: true,
      metadata: laneMetadata('gray'),
    });
    expect(Object.isFrozen(instance)).toBe(true);
    expect(Object.isFrozen(instance.metadata)).toBe(true);
    expect(createInstance({ service: 'b', host: 'h', port: 1, weight: 0, healthy: false, enabled: false })).toMatchObject({
      lane: undefined,
      weight: 0,
      healthy: false,
      enabled: false,
      metadata: {},
    });
  });
});
