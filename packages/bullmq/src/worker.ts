import { diag } from '@opentelemetry/api';
import { ErrorCode, GraylaneError } from '@graylane/core';
import type { Registry } from '@graylane/core';
import { carriersOrDefault } from '@graylane/context';
import type { Carriers } from '@graylane/context';
import { createLaneConsumerPolicy } from '@graylane/messaging';
import type { LaneConsumerOptions, LaneConsumerPolicy } from '@graylane/messaging';
import { DelayedError, Queue, Worker } from 'bullmq';
import type { ConnectionOptions, Job, WorkerOptions } from 'bullmq';
import { jobLane, laneQueueName, normalizeLane } from './carriers.js';
import { LANES_KEY } from './queue.js';

/** Default of {@link LaneWorkerOptions.discoverEveryMs}. */
export const DEFAULT_DISCOVER_EVERY_MS = 5000;

/** The handler of {@link laneWorker}: BullMQ's processor, run in the job's lane. */
export type LaneJobHandler<D = unknown, R = unknown> = (job: Job<D, R>, token?: string, signal?: AbortSignal) => R | Promise<R>;

/** Options of {@link laneWorker}. */
export interface LaneWorkerOptions {
  /** The service: its workers of every lane share the queue's jobs. */
  readonly service: string;
  /** This worker's lane; `undefined` (or `'base'`) for base. */
  readonly lane?: string | undefined;
  /** The registry this worker registers in, and live lane workers are watched in. */
  readonly registry: Registry;
  /** BullMQ's connection (ioredis options or instance); BullMQ wants `maxRetriesPerRequest: null` on it. */
  readonly connection: ConnectionOptions;
  /** BullMQ's key prefix; must be the producers'. Default BullMQ's (`bull`). */
  readonly prefix?: string;
  /** Jobs handled at once per BullMQ worker (the base worker's lane drains each have their own). Default 1. */
  readonly concurrency?: number;
  /** Other options of every `new Worker` it opens. */
  readonly workerOptions?: Omit<WorkerOptions, 'connection' | 'prefix' | 'concurrency' | 'autorun'>;
  /** Passed to the policy; see `createLaneConsumerPolicy` in @graylane/messaging. Default 5000 ms. */
  readonly fallbackAfterMs?: number;
  /** Lanes whose queues base never drains. */
  readonly strict?: LaneConsumerOptions['strict'];
  /** The carriers the lane travels in: `graylane.carriers`, or `createCarriers(...)`. Default: graylane's. */
  readonly carriers?: Carriers | undefined;
  /** Whether (and as what) this worker registers in `registry`; see `createLaneConsumerPolicy`. Default true. */
  readonly register?: LaneConsumerOptions['register'];
  /**
   * The lane a job runs in: `'recorded'` (default), the lane the job was created in (a repeating or
   * delayed job keeps it); `'queue'`, the lane of the queue it was taken from (this worker's lane, or
   * the drained lane's).
   */
  readonly jobLane?: 'recorded' | 'queue';
  /** Base only: how often the lanes recorded in Redis are read again, to find lane queues to drain. Default 5000 ms. */
  readonly discoverEveryMs?: number;
  /** Called with each BullMQ worker error (connection errors, a failing handler is BullMQ's `failed`). Default `diag.warn`. */
  readonly onError?: (error: unknown) => void;
}

/** A running lane worker, from {@link laneWorker}. */
export interface LaneWorker {
  /** The queue it consumes: `<name>` for base, `<name>.lane.<lane>` for a lane. */
  readonly queue: string;
  /** The lane policy (its lane, its view of live lanes). */
  readonly policy: LaneConsumerPolicy;
  /** The BullMQ worker of its own queue (for events: `completed`, `failed`, …). */
  readonly worker: Worker;
  /** Base only: the lanes whose queues it drains now (they have no live worker). */
  draining(): string[];
  /**
   * Stops taking jobs, waits for the jobs in hand, closes its BullMQ workers and deregisters.
   * Idempotent.
   */
  close(): Promise<void>;
}

function invalid(path: string, message: string, value: unknown): GraylaneError {
  return new GraylaneError(ErrorCode.CONFIG_INVALID, `${path}: ${message}`, { details: { path, value } });
}

function positiveInteger(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw invalid(path, 'expected an integer >= 1', value);
  return value;
}

/**
 * Starts a lane worker of `options.service` on the BullMQ queue `name`, registers it (with its lane)
 * in the registry, and watches the registry:
 *
 * - a lane worker takes the jobs of its lane's queue, `<name>.lane.<lane>`;
 * - the base worker takes the jobs of `name`, and drains the queue of every lane that has no live
 *   worker of the service: at once if the lane never had one, `fallbackAfterMs` after its last
 *   worker vanished, never for a strict lane; it stops draining a lane when a worker of it is back.
 *
 * Each job runs in the lane it was created in (see {@link LaneWorkerOptions.jobLane}); unreadable
 * carriers make it a base job, never a crash. A handler's failure is BullMQ's (retries per the job's
 * `attempts`). Resolves once the worker runs and is registered. Throws `GraylaneError`
 * (`CONFIG_INVALID`) for invalid options.
 *
 * @example
 * ```ts
 * const worker = await laneWorker('orders', async (job) => bill(job.data), { service: 'billing', lane: process.env.LANE, registry, connection });
 * // on shutdown
 * await worker.close();
 * ```
 */
export async function laneWorker<D = unknown, R = unknown>(name: string, handler: LaneJobHandler<D, R>, options: LaneWorkerOptions): Promise<LaneWorker> {
  const path = `bullmq.laneWorker(${String(name)})`;
  if (typeof handler !== 'function') throw invalid(`${path}.handler`, 'a handler function is required', handler);
  if (options === null || typeof options !== 'object') throw invalid(path, 'options are required', options);
  try {
    laneQueueName(name);
  } catch {
    throw invalid(`${path}.name`, "a non-empty queue name without ':' is required", name);
  }
  if (options.connection === undefined || options.connection === null) throw invalid(`${path}.connection`, 'a BullMQ connection is required', options.connection);
  if (typeof options.registry?.subscribe !== 'function') throw invalid(`${path}.registry`, 'a registry is required', options.registry);
  const carriers = carriersOrDefault(options.carriers, `${path}.carriers`);
  const concurrency = positiveInteger(options.concurrency ?? 1, `${path}.concurrency`);
  const discoverEveryMs = positiveInteger(options.discoverEveryMs ?? DEFAULT_DISCOVER_EVERY_MS, `${path}.discoverEveryMs`);
  const jobLaneMode = options.jobLane ?? 'recorded';
  if (jobLaneMode !== 'recorded' && jobLaneMode !== 'queue') throw invalid(`${path}.jobLane`, "expected 'recorded' or 'queue'", jobLaneMode);
  const ownLane = normalizeLane(options.lane, `${path}.lane`);
  const policy = createLaneConsumerPolicy({
    service: options.service,
    lane: ownLane,
    registry: options.registry,
    ...(options.fallbackAfterMs !== undefined ? { fallbackAfterMs: options.fallbackAfterMs } : {}),
    ...(options.strict !== undefined ? { strict: options.strict } : {}),
    ...(options.register !== undefined ? { register: options.register } : {}),
  });
  const fallbackAfterMs = options.fallbackAfterMs ?? 5000;
  const report = options.onError ?? ((error: unknown) => diag.warn(`graylane: ${path} worker error`, error));

  const processor = (queueLane: string | undefined) => async (job: Job<D, R>, token?: string, signal?: AbortSignal): Promise<R> => {
    // A drain (base on a lane's queue) that took a job just as the lane's worker came back (a closing
    // BullMQ worker still finishes its last fetch) puts it back, for the lane's worker: BullMQ's
    // moveToDelayed + DelayedError, which neither fails the job nor counts an attempt.
    if (ownLane === undefined && queueLane !== undefined && policy.decide(queueLane).action !== 'handle') {
      await job.moveToDelayed(Date.now(), token);
      throw new DelayedError(`graylane: ${laneQueueName(name, queueLane)} has a live worker again`);
    }
    const lane = jobLaneMode === 'queue' ? queueLane : jobLane(job, { carriers });
    return carriers.withLane(lane, () => handler(job, token, signal));
  };
  const open = (queueLane: string | undefined): Worker => {
    const worker = new Worker(laneQueueName(name, queueLane), processor(queueLane), {
      ...options.workerOptions,
      connection: options.connection,
      concurrency,
      ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
    });
    worker.on('error', (error) => {
      try {
        report(error);
      } catch (reportError) {
        diag.warn(`graylane: ${path}.onError threw`, reportError);
      }
    });
    return worker;
  };

  const worker = open(ownLane);
  const drains = new Map<string, Worker>();
  const stopping = new Set<Promise<void>>();
  const known = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let discovering: Promise<void> | undefined;
  let lastDiscovery = 0;
  let unsubscribe: (() => void) | undefined;
  let lanesQueue: Queue | undefined;
  let closed = false;

  const discover = async (): Promise<void> => {
    lanesQueue ??= new Queue(name, { connection: options.connection, ...(options.prefix !== undefined ? { prefix: options.prefix } : {}) });
    const client = await lanesQueue.getBackend().client;
    for (const lane of Object.keys(await client.hgetall(lanesQueue.toKey(LANES_KEY)))) {
      try {
        const valid = normalizeLane(lane, 'lane');
        if (valid !== undefined) known.add(valid);
      } catch {
        // not a lane name: never a queue of ours
      }
    }
  };

  const reconcile = (): void => {
    if (closed) return;
    for (const lane of policy.liveLanes()) known.add(lane);
    for (const lane of known) {
      const drain = drains.get(lane);
      const take = policy.decide(lane).action === 'handle';
      if (take && drain === undefined) drains.set(lane, open(lane));
      else if (!take && drain !== undefined) {
        drains.delete(lane);
        const done: Promise<void> = drain.close().catch((error: unknown) => report(error)).finally(() => stopping.delete(done));
        stopping.add(done);
      }
    }
    if (Date.now() - lastDiscovery >= discoverEveryMs && discovering === undefined) {
      lastDiscovery = Date.now();
      discovering = discover()
        .catch((error: unknown) => diag.debug(`graylane: ${path} could not read the recorded lanes`, error))
        .finally(() => {
          discovering = undefined;
          reconcile();
        });
    }
  };

  try {
    await worker.waitUntilReady();
    if (ownLane === undefined) await discover();
    lastDiscovery = Date.now();
    await policy.start();
  } catch (error) {
    await policy.close();
    await worker.close().catch(() => undefined);
    await lanesQueue?.close().catch(() => undefined);
    throw error;
  }
  if (ownLane === undefined) {
    unsubscribe = options.registry.subscribe(policy.service, () => queueMicrotask(reconcile));
    timer = setInterval(reconcile, Math.max(25, Math.min(250, Math.floor(fallbackAfterMs / 4))));
    timer.unref();
    reconcile();
  }

  let closing: Promise<void> | undefined;
  return {
    queue: laneQueueName(name, ownLane),
    policy,
    worker,
    draining: () => [...drains.keys()],
    close() {
      closing ??= (async () => {
        closed = true;
        if (timer !== undefined) clearInterval(timer);
        unsubscribe?.();
        await discovering;
        const all = [worker, ...drains.values()];
        drains.clear();
        await Promise.allSettled([...all.map((w) => w.close()), ...stopping]);
        await lanesQueue?.close().catch(() => undefined);
        await policy.close();
      })();
      return closing;
    },
  };
}
