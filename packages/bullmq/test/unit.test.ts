/** What needs no Redis: queue names, stamping job options, reading a job's lane, option validation. */
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ErrorCode, GraylaneError } from '@graylane/core';
import { createCarriers, withLane } from '@graylane/context';
import { createMemoryRegistry } from '@graylane/registry';
import { JOB_LANE_OPTION, MAX_CARRIER_BYTES, createLaneQueue, jobCarriers, jobLane, laneJobOptions, laneQueueName, laneWorker } from '../src/index.js';
import type { LaneQueueOptions, LaneWorkerOptions } from '../src/index.js';

const manager = new AsyncLocalStorageContextManager();
beforeAll(() => context.setGlobalContextManager(manager.enable()));
afterAll(() => {
  manager.disable();
  context.disable();
});

const connection = { host: '127.0.0.1', port: 1, lazyConnect: true, maxRetriesPerRequest: null };

function configError(fn: () => unknown): GraylaneError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(GraylaneError);
    expect((error as GraylaneError).code).toBe(ErrorCode.CONFIG_INVALID);
    return error as GraylaneError;
  }
  throw new Error('expected a CONFIG_INVALID error');
}
async function configRejection(promise: Promise<unknown>): Promise<GraylaneError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GraylaneError);
  expect((error as GraylaneError).code).toBe(ErrorCode.CONFIG_INVALID);
  return error as GraylaneError;
}
const pathOf = (error: GraylaneError) => (error.details as { path?: string }).path;

describe('laneQueueName', () => {
  it('is the name for base and <name>.lane.<lane> for a lane', () => {
    expect(laneQueueName('orders')).toBe('orders');
    expect(laneQueueName('orders', 'base')).toBe('orders');
    expect(laneQueueName('orders', undefined)).toBe('orders');
    expect(laneQueueName('orders', 'gray')).toBe('orders.lane.gray');
    expect(laneQueueName('orders', 'v1.2-canary')).toBe('orders.lane.v1.2-canary');
  });
  it("rejects names BullMQ would not take (':', empty) and invalid lanes", () => {
    expect(pathOf(configError(() => laneQueueName('a:b')))).toBe('bullmq.laneQueueName.name');
    expect(pathOf(configError(() => laneQueueName('')))).toBe('bullmq.laneQueueName.name');
    expect(pathOf(configError(() => laneQueueName('orders', 'no:colon')))).toBe('bullmq.laneQueueName.lane');
  });
});

describe('laneJobOptions / jobLane', () => {
  it('writes and reads the carriers it is given (createCarriers), and refuses plain carrier options', () => {
    const carriers = createCarriers({ mseTag: 'x-lane', baggage: false });
    const stamped = laneJobOptions({}, { lane: 'gray', carriers });
    expect(stamped[JOB_LANE_OPTION]).toEqual({ 'x-lane': 'gray' });
    expect(jobLane({ opts: stamped }, { carriers })).toBe('gray');
    expect(jobLane({ opts: stamped })).toBeUndefined(); // the default carriers read x-mse-tag
    expect(() => laneJobOptions({}, { lane: 'gray', carriers: { mseTag: 'x-lane' } as never })).toThrow(expect.objectContaining({ code: 'GRAYLANE_ERR_CONFIG_INVALID' }));
  });

  it('stamps the current lane into opts.graylane, keeps the caller’s options, and does not modify them', () => {
    const opts = { attempts: 3, delay: 10 };
    const stamped = withLane('gray', () => laneJobOptions(opts));
    expect(stamped).toMatchObject({ attempts: 3, delay: 10 });
    expect(stamped[JOB_LANE_OPTION]).toMatchObject({ 'x-mse-tag': 'gray' });
    expect(jobLane({ opts: stamped })).toBe('gray');
    expect(opts).toEqual({ attempts: 3, delay: 10 });
  });
  it('an explicit lane wins; an explicit undefined (or base) removes the carriers', () => {
    expect(jobLane({ opts: withLane('gray', () => laneJobOptions({}, { lane: 'blue' })) })).toBe('blue');
    const base = withLane('gray', () => laneJobOptions(laneJobOptions({}, { lane: 'gray' }), { lane: undefined }));
    expect(base).not.toHaveProperty(JOB_LANE_OPTION);
    expect(jobLane({ opts: base })).toBeUndefined();
    expect(laneJobOptions({}, { lane: 'base' })).not.toHaveProperty(JOB_LANE_OPTION);
  });
  it('reads only string carriers up to MAX_CARRIER_BYTES; anything else is base and never throws', () => {
    expect(jobLane(undefined)).toBeUndefined();
    expect(jobLane({ opts: undefined })).toBeUndefined();
    expect(jobLane({ opts: { graylane: 'gray' } })).toBeUndefined();
    expect(jobLane({ opts: { graylane: ['gray'] } })).toBeUndefined();
    expect(jobLane({ opts: { graylane: { 'x-mse-tag': 42 } } })).toBeUndefined();
    expect(jobLane({ opts: { graylane: { 'x-mse-tag': { type: 'Buffer', data: [0xff] } } } })).toBeUndefined();
    expect(jobLane({ opts: { graylane: { 'X-MSE-TAG': 'gray' } } })).toBe('gray');
    expect(jobCarriers({ graylane: { baggage: 'x'.repeat(MAX_CARRIER_BYTES + 1), 'x-mse-tag': 'gray' } })).toEqual({ 'x-mse-tag': 'gray' });
    const hostile = { get graylane(): never { throw new Error('no'); } };
    expect(jobCarriers(hostile)).toEqual({});
    expect(jobLane({ opts: { graylane: { baggage: ';;==,,%%%' } } })).toBeUndefined();
  });
});

describe('option validation (CONFIG_INVALID with a path)', () => {
  const registry = createMemoryRegistry();
  afterAll(() => registry.close());
  const queueOptions = (extra: Partial<LaneQueueOptions> = {}): LaneQueueOptions => ({ service: 'svc', registry, connection, ...extra });
  const workerOptions = (extra: Partial<LaneWorkerOptions> = {}): LaneWorkerOptions => ({ service: 'svc', registry, connection, ...extra });

  it('createLaneQueue', () => {
    expect(pathOf(configError(() => createLaneQueue('a:b', queueOptions())))).toBe('bullmq.createLaneQueue(a:b).name');
    expect(pathOf(configError(() => createLaneQueue('q', queueOptions({ service: '' }))))).toBe('bullmq.createLaneQueue(q).service');
    expect(pathOf(configError(() => createLaneQueue('q', queueOptions({ fallbackAfterMs: -1 }))))).toBe('bullmq.createLaneQueue(q).fallbackAfterMs');
    expect(pathOf(configError(() => createLaneQueue('q', { service: 'svc', registry } as unknown as LaneQueueOptions)))).toBe('bullmq.createLaneQueue(q).connection');
    expect(pathOf(configError(() => createLaneQueue('q', { service: 'svc', connection } as unknown as LaneQueueOptions)))).toBe('bullmq.createLaneQueue(q).registry');
  });
  it('laneWorker rejects before it connects', async () => {
    const handler = async () => undefined;
    expect(pathOf(await configRejection(laneWorker('a:b', handler, workerOptions())))).toBe('bullmq.laneWorker(a:b).name');
    expect(pathOf(await configRejection(laneWorker('q', handler, workerOptions({ lane: 'not a lane' }))))).toBe('bullmq.laneWorker(q).lane');
    expect(pathOf(await configRejection(laneWorker('q', handler, workerOptions({ concurrency: 0 }))))).toBe('bullmq.laneWorker(q).concurrency');
    expect(pathOf(await configRejection(laneWorker('q', handler, workerOptions({ discoverEveryMs: 1.5 }))))).toBe('bullmq.laneWorker(q).discoverEveryMs');
    expect(pathOf(await configRejection(laneWorker('q', handler, workerOptions({ jobLane: 'x' as 'queue' }))))).toBe('bullmq.laneWorker(q).jobLane');
    expect(pathOf(await configRejection(laneWorker('q', 'nope' as unknown as typeof handler, workerOptions())))).toBe('bullmq.laneWorker(q).handler');
    expect(pathOf(await configRejection(laneWorker('q', handler, workerOptions({ service: '' }))))).toBe('messaging.consumer().service');
    expect(pathOf(await configRejection(laneWorker('q', handler, { service: 'svc', connection } as unknown as LaneWorkerOptions)))).toBe('bullmq.laneWorker(q).registry');
    expect(pathOf(await configRejection(laneWorker('q', handler, { service: 'svc', registry } as unknown as LaneWorkerOptions)))).toBe('bullmq.laneWorker(q).connection');
  });
});
