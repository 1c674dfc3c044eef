/**
 * Against one real Redis server (started in beforeAll, never skipped): the messaging contract of
 * @graylane/testing, where a topic is a BullMQ queue with a queue per lane (`<topic>.lane.<lane>`),
 * so a job goes to the queue of its lane's live worker or to base; then what is particular to this
 * adapter: `data` untouched, delayed and repeating jobs keeping their lane, fallback to base, strict
 * lanes, lanes recorded in Redis, close().
 */
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { Queue } from 'bullmq';
import type { Job, JobsOptions } from 'bullmq';
import type { Instance } from '@graylane/core';
import { getLane, withLane } from '@graylane/context';
import { createMemoryRegistry } from '@graylane/registry';
import { describeMessagingContract, type ContractConsumeOptions, type MessagingAdapter } from '@graylane/testing';
import { JOB_LANE_OPTION, createLaneQueue, laneQueueName, laneWorker } from '../src/index.js';
import type { LaneQueue, LaneQueueOptions, LaneWorker, LaneWorkerOptions } from '../src/index.js';
import { connectionOf, useRedis } from './redis.js';

const manager = new AsyncLocalStorageContextManager();
beforeAll(() => context.setGlobalContextManager(manager.enable()));
afterAll(() => {
  manager.disable();
  context.disable();
});

const redis = useRedis();
let port = 44000;

/**
 * A BullMQ producer routes by the live workers of the service it feeds, so it is configured with that
 * service (and the strict lanes, as a deployment configures both sides from one router config). The
 * contract passes these to `consume` only; the factory remembers them per topic.
 */
async function bullmq(): Promise<MessagingAdapter> {
  const connection = connectionOf(redis());
  const consumersOf = new Map<string, ContractConsumeOptions>();
  const producers = new Map<string, LaneQueue>();
  const raw = new Map<string, Queue>();
  /** The long-lived producer of `topic`, watching the registry from the first consumer's start on. */
  const producer = async (topic: string): Promise<LaneQueue> => {
    let p = producers.get(topic);
    if (p === undefined) {
      const o = consumersOf.get(topic);
      if (o === undefined) throw new Error(`no consumer of ${topic} yet: the contract starts one first`);
      p = createLaneQueue(topic, { service: o.service, registry: o.registry, connection, fallbackAfterMs: o.fallbackAfterMs, ...(o.strict ? { strict: o.strict } : {}) });
      producers.set(topic, p);
    }
    await p.ready();
    return p;
  };
  return {
    async produce(topic, payload, lane) {
      await (await producer(topic)).add('contract', payload, undefined, { lane });
    },
    async produceRaw(topic, payload, headers) {
      // Where the lane would be stamped (opts.graylane), bypassing graylane, to the base queue. Job
      // options are stored as msgpack/JSON, which has no Buffer (BullMQ's script rejects one): bytes
      // arrive as the string of those bytes (latin1), as from a producer writing raw bytes in JSON.
      let q = raw.get(topic);
      if (q === undefined) raw.set(topic, (q = new Queue(topic, { connection })));
      const carriers = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, typeof v === 'string' ? v : v.toString('latin1')]));
      await q.add('raw', payload, { [JOB_LANE_OPTION]: carriers } as JobsOptions);
    },
    async consume(topic, options, handler) {
      if (!consumersOf.has(topic)) consumersOf.set(topic, options);
      const worker = await laneWorker<string>(topic, (job) => handler(job.data), { ...options, connection, register: { host: '127.0.0.1', port: ++port } });
      await producer(topic);
      return { stop: () => worker.close() };
    },
    async close() {
      await Promise.all([...producers.values()].map((p) => p.close()));
      await Promise.all([...raw.values()].map((q) => q.close()));
    },
  };
}

describeMessagingContract('BullMQ', bullmq, { createRegistry: createMemoryRegistry, timeoutMs: 10_000, settleMs: 500, fallbackAfterMs: 1000 });

async function until(condition: () => boolean, what: string, maxMs = 10_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${maxMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Seen {
  readonly job: Job;
  readonly lane: string | undefined;
  readonly at: number;
}

describe('laneWorker / createLaneQueue on Redis', () => {
  let registry: ReturnType<typeof createMemoryRegistry>;
  let workers: LaneWorker[];
  let producers: LaneQueue[];
  let serial = 0;
  let name: string;
  let service: string;
  const fallbackAfterMs = 500;

  beforeEach(() => {
    registry = createMemoryRegistry();
    workers = [];
    producers = [];
    name = `adapter-${process.pid}-${++serial}`;
    service = `adapter-svc-${serial}`;
  });
  afterEach(async () => {
    await Promise.all(workers.map((w) => w.close()));
    await Promise.all(producers.map((p) => p.close()));
    await registry.close();
  });

  const start = async (lane: string | undefined, seen: Seen[], extra: Partial<LaneWorkerOptions> = {}): Promise<LaneWorker> => {
    const w = await laneWorker(name, (job) => void seen.push({ job, lane: getLane(), at: Date.now() }), {
      service,
      lane,
      registry,
      connection: connectionOf(redis()),
      fallbackAfterMs,
      register: { host: '127.0.0.1', port: ++port },
      ...extra,
    });
    workers.push(w);
    return w;
  };
  const produce = (extra: Partial<LaneQueueOptions> = {}): LaneQueue => {
    const p = createLaneQueue(name, { service, registry, connection: connectionOf(redis()), fallbackAfterMs, ...extra });
    producers.push(p);
    return p;
  };

  it('user data arrives unchanged, in the lane’s own queue; the lane travels in opts.graylane', async () => {
    const gray: Seen[] = [];
    await start('gray', gray);
    const data = { id: 42, nested: { list: [1, 'two', null], flag: false }, __proto_like: 'x' };
    const p = produce();
    await withLane('gray', () => p.add('charge', data, { attempts: 2 }));
    await p.add('text', 'just a string', undefined, { lane: 'gray' });
    await until(() => gray.length === 2, 'both gray jobs');
    const byName = Object.fromEntries(gray.map((s) => [s.job.name, s]));
    expect(byName.charge!.job.data).toEqual(data);
    expect(byName.text!.job.data).toBe('just a string');
    expect(gray.every((s) => s.lane === 'gray' && s.job.queueName === laneQueueName(name, 'gray'))).toBe(true);
    expect(byName.charge!.job.opts).toMatchObject({ attempts: 2, [JOB_LANE_OPTION]: { 'x-mse-tag': 'gray' } });
  });

  it('a delayed job keeps its lane: created in gray, run in gray after the delay (by gray, or by base when gray has no worker)', async () => {
    const gray: Seen[] = [];
    const base: Seen[] = [];
    await start('gray', gray);
    await start(undefined, base);
    const p = produce();
    const added = Date.now();
    await withLane('gray', () => p.add('later', { n: 1 }, { delay: 600 }));
    await withLane('blue', () => p.add('later-blue', { n: 2 }, { delay: 600 }));
    await until(() => gray.length === 1 && base.length === 1, 'both delayed jobs');
    expect(gray[0]).toMatchObject({ lane: 'gray' });
    expect(gray[0]!.at - added).toBeGreaterThanOrEqual(550);
    expect(base[0]).toMatchObject({ lane: 'blue' });
    expect(base[0]!.job.queueName).toBe(name);
    expect(base[0]!.at - added).toBeGreaterThanOrEqual(550);
  });

  it('a repeating job keeps its lane on every repetition (job scheduler created in gray)', async () => {
    const gray: Seen[] = [];
    const base: Seen[] = [];
    await start('gray', gray);
    await start(undefined, base);
    const p = produce();
    await withLane('gray', () => p.upsertJobScheduler('tick', { every: 150, limit: 3 }, { name: 'tick', data: { t: 1 } }));
    await p.upsertJobScheduler('tock', { every: 150, limit: 3 }, { name: 'tock', data: { t: 2 } }, { lane: 'blue' });
    await until(() => gray.length === 3 && base.length === 3, 'three repetitions of each');
    await pause(400);
    expect(gray.map((s) => [s.job.name, s.lane])).toEqual([['tick', 'gray'], ['tick', 'gray'], ['tick', 'gray']]);
    expect(base.map((s) => [s.job.name, s.lane])).toEqual([['tock', 'blue'], ['tock', 'blue'], ['tock', 'blue']]);
    expect(gray.every((s) => s.job.data.t === 1)).toBe(true);
    expect(await p.removeJobScheduler('tick')).toBe(true);
    expect(await p.removeJobScheduler('tock')).toBe(true);
  });

  it('a retried job keeps its lane: the second attempt runs in the lane of the first', async () => {
    const base: Seen[] = [];
    let attempts = 0;
    await laneWorker(
      name,
      (job) => {
        base.push({ job, lane: getLane(), at: Date.now() });
        if (++attempts === 1) throw new Error('first attempt fails');
      },
      { service, registry, connection: connectionOf(redis()), fallbackAfterMs, register: { host: '127.0.0.1', port: ++port } },
    ).then((w) => workers.push(w));
    await produce().add('flaky', { k: 1 }, { attempts: 2, backoff: { type: 'fixed', delay: 100 } }, { lane: 'gray' });
    await until(() => base.length === 2, 'the retry');
    expect(base.map((s) => s.lane)).toEqual(['gray', 'gray']);
    expect(base[1]!.job.data).toEqual({ k: 1 });
  });

  it('add after close() throws CLOSED', async () => {
    const p = produce();
    await p.add('one', {}, undefined, { lane: undefined });
    await p.close();
    await expect(p.add('two', {}, undefined, { lane: 'gray' })).rejects.toMatchObject({ code: 'GRAYLANE_ERR_CLOSED' });
  });

  it('re-upserting a scheduler in another lane moves it: one id, one scheduler', async () => {
    const gray: Seen[] = [];
    const base: Seen[] = [];
    await start('gray', gray);
    await start(undefined, base);
    const p = produce();
    await p.upsertJobScheduler('move', { every: 60_000 }, { name: 'move', data: {} }, { lane: 'gray' });
    expect(await p.queue('gray').getJobScheduler('move')).toBeDefined();
    await p.upsertJobScheduler('move', { every: 60_000 }, { name: 'move', data: {} }, { lane: undefined });
    expect(await p.queue('gray').getJobScheduler('move')).toBeUndefined();
    expect(await p.queue().getJobScheduler('move')).toBeDefined();
    expect(await p.removeJobScheduler('move')).toBe(true);
    expect(await p.queue().getJobScheduler('move')).toBeUndefined();
  });

  it('jobs of a lane with no worker go to the base queue and run in the lane’s context', async () => {
    const base: Seen[] = [];
    await start(undefined, base);
    const p = produce();
    await p.add('orphan', { x: 1 }, undefined, { lane: 'gray' });
    await p.add('plain', { x: 2 }, undefined, { lane: undefined });
    await until(() => base.length === 2, 'both jobs');
    expect(base.find((s) => s.job.name === 'orphan')).toMatchObject({ lane: 'gray' });
    expect(base.find((s) => s.job.name === 'plain')?.lane).toBeUndefined();
    expect(base.every((s) => s.job.queueName === name)).toBe(true);
    expect(await p.lanes()).toEqual([]); // nothing was routed to a lane queue
  });

  it('a lane’s queued jobs are drained by base after its worker left, and no longer once a worker is back', async () => {
    const gray: Seen[] = [];
    const base: Seen[] = [];
    const p = produce();
    await p.ready();
    const g = await start('gray', gray);
    const b = await start(undefined, base);
    await g.close();
    const gone = Date.now();
    await p.add('left', {}, undefined, { lane: 'gray' }); // gray vanished just now: its own queue
    await until(() => base.length === 1, 'base to drain the gray queue', fallbackAfterMs + 10_000);
    expect(base[0]).toMatchObject({ lane: 'gray' });
    expect(base[0]!.job.queueName).toBe(laneQueueName(name, 'gray'));
    expect(base[0]!.at - gone).toBeGreaterThanOrEqual(fallbackAfterMs - 50);
    expect(b.draining()).toEqual(['gray']);
    await start('gray', gray);
    await until(() => b.draining().length === 0, 'base to stop draining gray');
    await p.add('back', {}, undefined, { lane: 'gray' });
    await until(() => gray.length === 1, 'the returned gray worker');
    // The closing drain may still take it (BullMQ finishes a fetch in flight); it puts it back for gray.
    expect(gray[0]!.job.name).toBe('back');
    await pause(200);
    expect(base).toHaveLength(1);
  }, 20_000);

  it('a base worker started after a lane left drains that lane’s queue (the lanes are recorded in Redis)', async () => {
    // A gray worker registered (and then gone) before any base worker ran.
    const gray = { service, host: '127.0.0.1', port: ++port, lane: 'gray', metadata: { 'graylane.consumer': 'true' } };
    await registry.register(gray);
    const p = produce();
    await p.add('queued', {}, undefined, { lane: 'gray' });
    expect(await p.lanes()).toEqual(['gray']);
    await registry.deregister(gray);
    const base: Seen[] = [];
    await start(undefined, base);
    await until(() => base.length === 1, 'base to drain the recorded gray queue', fallbackAfterMs + 10_000);
    expect(base[0]).toMatchObject({ lane: 'gray' });
  });

  it('strict-lane jobs wait for their worker: base never takes them', async () => {
    const base: Seen[] = [];
    await start(undefined, base, { strict: ['gray'] });
    const p = produce({ strict: ['gray'] });
    await p.add('strict', {}, undefined, { lane: 'gray' });
    await p.add('plain', {}, undefined, { lane: undefined });
    await until(() => base.length === 1, 'the base job');
    await pause(fallbackAfterMs + 500);
    expect(base.map((s) => s.job.name)).toEqual(['plain']);
    const gray: Seen[] = [];
    await start('gray', gray, { strict: ['gray'] });
    await until(() => gray.length === 1, 'the gray worker to take the strict job');
    expect(gray[0]).toMatchObject({ lane: 'gray' });
    expect(base).toHaveLength(1);
  });

  it("jobLane: 'queue' runs jobs in the lane of the queue they were taken from", async () => {
    const base: Seen[] = [];
    await start(undefined, base, { jobLane: 'queue' });
    await produce().add('orphan', {}, undefined, { lane: 'gray' });
    await until(() => base.length === 1, 'the job');
    expect(base[0]!.lane).toBeUndefined();
  });

  it('close() deregisters, stops taking jobs, and is idempotent', async () => {
    const seen: Seen[] = [];
    const lanes: (string | undefined)[][] = [];
    const unsubscribe = registry.subscribe(service, (list: readonly Instance[]) => void lanes.push(list.map((i) => i.lane)));
    const p = produce();
    await p.ready();
    const g = await start('gray', seen);
    await until(() => lanes.at(-1)?.includes('gray') === true, 'the gray worker to register');
    await g.close();
    await g.close();
    await until(() => lanes.at(-1)?.includes('gray') === false, 'the gray worker to deregister');
    unsubscribe();
    expect(g.worker.isRunning()).toBe(false);
    await p.add('after-close', {}, undefined, { lane: 'gray' });
    await pause(300);
    expect(seen).toEqual([]);
    expect(await p.queue('gray').getWaitingCount()).toBe(1); // kept for the lane's return (or base's fallback)
  });
});
