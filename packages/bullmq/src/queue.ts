import { diag } from '@opentelemetry/api';
import { ErrorCode, GraylaneError } from '@graylane/core';
import type { Registry } from '@graylane/core';
import { carriersOrDefault, getLane } from '@graylane/context';
import type { Carriers } from '@graylane/context';
import { createLaneConsumerPolicy } from '@graylane/messaging';
import type { LaneConsumerOptions, LaneConsumerPolicy } from '@graylane/messaging';
import { Queue } from 'bullmq';
import type { ConnectionOptions, Job, JobSchedulerTemplateOptions, JobsOptions, QueueOptions, RepeatOptions } from 'bullmq';
import { laneJobOptions, laneQueueName, normalizeLane } from './carriers.js';

/**
 * The key (of the base queue: `<prefix>:<name>:graylane:lanes`) of the Redis hash of the lanes that
 * have had a lane queue (lane -> when a producer first routed a job there), which base workers drain.
 */
export const LANES_KEY = 'graylane:lanes';

/** Options of {@link createLaneQueue}. */
export interface LaneQueueOptions {
  /** The service whose lane workers consume the queue (their `laneWorker` `service`). */
  readonly service: string;
  /** The registry the lane workers register in; watched to know which lanes have a live worker. */
  readonly registry: Registry;
  /** BullMQ's connection (ioredis options or instance), as for `new Queue`. */
  readonly connection: ConnectionOptions;
  /** BullMQ's key prefix; must be the workers'. Default BullMQ's (`bull`). */
  readonly prefix?: string;
  /** Other options of every `new Queue` (base and lane queues). */
  readonly queueOptions?: Omit<QueueOptions, 'connection' | 'prefix'>;
  /**
   * How long a lane whose workers vanished keeps receiving its jobs in its own queue (so a restart does
   * not lose them to base); pass the workers' value. Default 5000 ms.
   */
  readonly fallbackAfterMs?: number;
  /** Lanes whose jobs always go to their own queue, worker or not (base never takes them); pass the workers' value. */
  readonly strict?: LaneConsumerOptions['strict'];
  /** The carriers the lane travels in: `graylane.carriers`, or `createCarriers(...)`. Default: graylane's. */
  readonly carriers?: Carriers | undefined;
}

/** Per-call options of {@link LaneQueue.add} and {@link LaneQueue.upsertJobScheduler}. */
export interface LaneAddOptions {
  /**
   * The lane of the job. Omitted: the current lane (`getLane()` from @graylane/context). Present but
   * `undefined`, or `'base'`: base.
   */
  readonly lane?: string | undefined;
}

/** A lane-aware BullMQ queue, from {@link createLaneQueue}. */
export interface LaneQueue {
  /** The base queue's name. */
  readonly name: string;
  /** The lane policy the routing decisions come from (a base policy that never registers). */
  readonly policy: LaneConsumerPolicy;
  /**
   * Adds a job stamped with its lane (see {@link LaneAddOptions.lane}) to the queue of that lane when
   * the lane has a live worker of the service (or lost it less than `fallbackAfterMs` ago, or is
   * strict), else to the base queue. `data` and `opts` are stored as given, plus the lane carriers
   * in `opts.graylane`. Resolves with BullMQ's job.
   */
  add<D = unknown>(jobName: string, data: D, opts?: JobsOptions, options?: LaneAddOptions): Promise<Job<D>>;
  /**
   * `Queue.upsertJobScheduler` in a lane: the template's options are stamped with the lane, so every
   * job the scheduler creates runs in it, and the scheduler lives in the queue {@link LaneQueue.add}
   * would pick now. A scheduler of the same id in another lane's queue (or the base queue) is removed
   * first, so one id is one scheduler. Resolves with the first job.
   */
  upsertJobScheduler<D = unknown>(
    id: string,
    repeat: Omit<RepeatOptions, 'key'>,
    template?: { readonly name?: string; readonly data?: D; readonly opts?: JobSchedulerTemplateOptions },
    options?: LaneAddOptions,
  ): Promise<Job<D>>;
  /** Removes the job scheduler `id` from the base queue and every lane queue; true if one was removed. */
  removeJobScheduler(id: string): Promise<boolean>;
  /**
   * Starts watching the registry and resolves once the first snapshot of the service's workers is in
   * (bounded by `fallbackAfterMs`, at most 5 s). The first `add` does it too; call it at start-up so a
   * lane worker that vanishes before the first job is known to have been live (its jobs then keep
   * going to its queue for `fallbackAfterMs`, instead of to base at once).
   */
  ready(): Promise<void>;
  /** The BullMQ queue of `lane` (`undefined`: base), opened once and kept. */
  queue(lane?: string): Queue;
  /** The lanes that have had a lane queue (recorded in Redis by producers; what base workers drain). */
  lanes(): Promise<string[]>;
  /** Closes every queue it opened and stops watching the registry. Idempotent; `add` then throws `CLOSED`. */
  close(): Promise<void>;
}

function currentLane(): string | undefined {
  const lane = getLane();
  return lane === undefined || lane === 'base' ? undefined : lane;
}

function invalid(path: string, message: string, value: unknown): GraylaneError {
  return new GraylaneError(ErrorCode.CONFIG_INVALID, `${path}: ${message}`, { details: { path, value } });
}

/**
 * A lane-aware producer for the BullMQ queue `name`: jobs of base go to the queue `name`, jobs of a
 * lane to `<name>.lane.<lane>` when the lane has a live `laneWorker` of `options.service` in the
 * registry, else to `name` too (still stamped, so the base worker runs them in their lane and later
 * hops keep it). Throws `GraylaneError` (`CONFIG_INVALID`) for invalid options.
 *
 * @example
 * ```ts
 * const orders = createLaneQueue('orders', { service: 'billing', registry, connection });
 * await orders.add('charge', { id: 42 });                        // the current lane
 * await orders.add('charge', { id: 43 }, { delay: 60_000 }, { lane: 'gray' });
 * ```
 */
export function createLaneQueue(name: string, options: LaneQueueOptions): LaneQueue {
  const path = `bullmq.createLaneQueue(${String(name)})`;
  const carriers = carriersOrDefault(options?.carriers, `${path}.carriers`);
  try {
    laneQueueName(name);
  } catch {
    throw invalid(`${path}.name`, "a non-empty queue name without ':' is required", name);
  }
  if (options === null || typeof options !== 'object') throw invalid(path, 'options are required', options);
  if (options.connection === undefined || options.connection === null) throw invalid(`${path}.connection`, 'a BullMQ connection is required', options.connection);
  if (typeof options.registry?.subscribe !== 'function') throw invalid(`${path}.registry`, 'a registry is required', options.registry);
  // Validates service, registry use and fallbackAfterMs; a base policy that never registers is the router.
  let policy: LaneConsumerPolicy;
  try {
    policy = createLaneConsumerPolicy({
      service: options.service,
      registry: options.registry,
      register: false,
      ...(options.fallbackAfterMs !== undefined ? { fallbackAfterMs: options.fallbackAfterMs } : {}),
      ...(options.strict !== undefined ? { strict: options.strict } : {}),
    });
  } catch (error) {
    if (error instanceof GraylaneError) {
      const field = String((error.details as { path?: string } | undefined)?.path ?? '').split('.').pop() ?? '';
      throw invalid(`${path}.${field}`, error.message.replace(/^[^:]*: /, ''), (options as unknown as Record<string, unknown>)[field]);
    }
    throw error;
  }

  const queues = new Map<string, Queue>();
  const recorded = new Set<string>();
  let started: Promise<void> | undefined;
  let unsubscribe: (() => void) | undefined;
  let closed = false;
  const snapshotWaitMs = Math.min(options.fallbackAfterMs ?? 5000, 5000);

  const open = (lane: string | undefined): Queue => {
    if (closed) throw new GraylaneError(ErrorCode.CLOSED, `${path}: the lane queue is closed`, { details: { path } });
    const queueName = laneQueueName(name, lane);
    let queue = queues.get(queueName);
    if (queue === undefined) {
      queue = new Queue(queueName, {
        ...options.queueOptions,
        connection: options.connection,
        ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
      });
      queue.on('error', (error) => diag.warn(`graylane: ${path} queue ${queueName} error`, error));
      queues.set(queueName, queue);
    }
    return queue;
  };

  /** Starts watching and waits (bounded) for the first registry snapshot, so the first job is routed on facts. */
  const start = (): Promise<void> => {
    started ??= (async () => {
      await policy.start();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, snapshotWaitMs);
        unsubscribe = options.registry.subscribe(options.service, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    })();
    return started;
  };

  /** The lane a job of `lane` goes to the queue of: the lane itself, or base (`undefined`). */
  const route = (lane: string | undefined): string | undefined => {
    if (lane === undefined) return undefined;
    // The base policy handles what no live (or just vanished) lane worker serves: that goes to base.
    return policy.decide(lane).action === 'handle' ? undefined : lane;
  };

  const record = async (lane: string): Promise<void> => {
    if (recorded.has(lane)) return;
    const base = open(undefined);
    const client = await base.getBackend().client;
    await client.hset(base.toKey(LANES_KEY), { [lane]: Date.now() });
    recorded.add(lane);
  };

  const laneOf = (callOptions: LaneAddOptions | undefined, where: string): { has: boolean; lane: string | undefined } => {
    if (callOptions === undefined || !Object.prototype.hasOwnProperty.call(callOptions, 'lane')) return { has: false, lane: undefined };
    return { has: true, lane: normalizeLane(callOptions.lane, `${path}.${where}.lane`) };
  };

  const lanes = async (): Promise<string[]> => {
    const base = open(undefined);
    const client = await base.getBackend().client;
    const members = Object.keys(await client.hgetall(base.toKey(LANES_KEY)));
    return members.filter((lane) => {
      try {
        return normalizeLane(lane, 'lane') !== undefined;
      } catch {
        return false;
      }
    });
  };

  return {
    name,
    policy,
    async add(jobName, data, opts, callOptions) {
      open(undefined); // throws CLOSED once closed
      const which = laneOf(callOptions, 'add');
      const lane = which.has ? which.lane : currentLane();
      const stamped = laneJobOptions(opts, { lane, carriers });
      await start();
      const target = route(lane);
      if (target !== undefined) await record(target);
      return (await open(target).add(jobName, data, stamped)) as Job<typeof data>;
    },
    async upsertJobScheduler(id, repeat, template = {}, callOptions) {
      open(undefined);
      const which = laneOf(callOptions, 'upsertJobScheduler');
      const lane = which.has ? which.lane : currentLane();
      const opts = laneJobOptions(template.opts, { lane, carriers });
      await start();
      const target = route(lane);
      if (target !== undefined) await record(target);
      const others = [undefined, ...(await lanes())].filter((l) => l !== target);
      for (const other of others) await open(other).removeJobScheduler(id);
      return (await open(target).upsertJobScheduler(id, repeat, { ...template, opts })) as Job<NonNullable<typeof template.data>>;
    },
    async removeJobScheduler(id) {
      let removed = false;
      for (const lane of [undefined, ...(await lanes())]) removed = (await open(lane).removeJobScheduler(id)) || removed;
      return removed;
    },
    ready: start,
    queue: (lane) => open(normalizeLane(lane, `${path}.queue.lane`)),
    lanes,
    async close() {
      if (closed) return;
      closed = true;
      unsubscribe?.();
      await policy.close();
      await Promise.allSettled([...queues.values()].map((q) => q.close()));
    },
  };
}
