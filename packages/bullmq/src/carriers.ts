import { BASE_LANE, ErrorCode, GraylaneError, isValidLane } from '@graylane/core';
import { carriersOrDefault } from '@graylane/context';
import type { Carriers, MessageHeaders } from '@graylane/context';
import type { JobsOptions } from 'bullmq';

/**
 * The job option graylane stores a job's lane carriers in: `job.opts.graylane`, e.g.
 * `{ 'x-mse-tag': 'gray', baggage: '__microservice_tag__=gray' }`. BullMQ stores job options it does
 * not know with the job and hands them back to the worker, also for delayed jobs, retries and every
 * job a job scheduler creates from its template, so the job's `data` is never touched.
 */
export const JOB_LANE_OPTION = 'graylane';

/** What separates a queue's name from a lane in the name of the lane's queue: `<name>.lane.<lane>`. */
export const LANE_QUEUE_SEPARATOR = '.lane.';

/**
 * The longest carrier value read for the lane, in bytes. W3C baggage allows 8192 bytes per header; a
 * longer value is not read at all (the job is handled as base).
 */
export const MAX_CARRIER_BYTES = 8192;

/** Job options that may carry graylane's lane carriers (see {@link JOB_LANE_OPTION}). */
export type LaneJobsOptions = JobsOptions & { readonly [JOB_LANE_OPTION]?: MessageHeaders };

function invalid(path: string, message: string, value: unknown): GraylaneError {
  return new GraylaneError(ErrorCode.CONFIG_INVALID, `${path}: ${message}`, { details: { path, value } });
}

/** `undefined` for base (`undefined`, `''` or `'base'`); throws `CONFIG_INVALID` for an invalid lane. */
export function normalizeLane(lane: string | undefined, path: string): string | undefined {
  if (lane === undefined || lane === '' || lane === BASE_LANE) return undefined;
  if (typeof lane !== 'string' || !isValidLane(lane)) throw invalid(path, `"${String(lane)}" is not a lane name`, lane);
  return lane;
}

/**
 * The BullMQ queue that holds the jobs of `lane` of the queue `name`: `name` itself for base, else
 * `<name>.lane.<lane>` (BullMQ does not allow `:` in queue names; lane names never hold one). Throws
 * `GraylaneError` (`CONFIG_INVALID`) for an empty name, a name with `:`, or an invalid lane.
 *
 * @example
 * ```ts
 * laneQueueName('orders', 'gray'); // 'orders.lane.gray'
 * laneQueueName('orders');         // 'orders'
 * ```
 */
export function laneQueueName(name: string, lane?: string): string {
  if (typeof name !== 'string' || name.length === 0 || name.includes(':')) {
    throw invalid('bullmq.laneQueueName.name', "a non-empty queue name without ':' is required", name);
  }
  const own = normalizeLane(lane, 'bullmq.laneQueueName.lane');
  return own === undefined ? name : `${name}${LANE_QUEUE_SEPARATOR}${own}`;
}

/** Options of {@link laneJobOptions}. */
export interface StampOptions {
  /** The lane to stamp. Left out: the current lane. `undefined` or `'base'`: base. */
  readonly lane?: string | undefined;
  /** The carriers to write: `graylane.carriers`, or `createCarriers(...)`. Default: graylane's. */
  readonly carriers?: Carriers | undefined;
}

/**
 * A copy of `opts` whose {@link JOB_LANE_OPTION} holds the carriers of `stamp.lane` (`x-mse-tag`
 * and W3C `baggage` by default): base (`undefined` or `'base'`) removes them. Leave `lane` out for
 * the current lane (`getLane()`). The caller's object is not modified. It only stamps: a job added
 * with it to a queue of your own is run in that lane by whichever lane worker takes it; routing to
 * the lane's queue is {@link createLaneQueue}'s. Throws only `GRAYLANE_ERR_CONFIG_INVALID`, for
 * `carriers` that `createCarriers` did not make.
 */
export function laneJobOptions<O extends JobsOptions>(opts?: O, stamp: StampOptions = {}): O & LaneJobsOptions {
  const carriers = carriersOrDefault(stamp.carriers, 'bullmq.laneJobOptions.carriers');
  const copy: Record<string, unknown> = { ...(opts ?? {}) };
  const headers = 'lane' in stamp ? carriers.injectLaneIntoMessage({}, stamp.lane ?? BASE_LANE) : carriers.injectLaneIntoMessage({});
  if (Object.keys(headers).length === 0) delete copy[JOB_LANE_OPTION];
  else copy[JOB_LANE_OPTION] = headers;
  return copy as O & LaneJobsOptions;
}

const utf8 = new TextEncoder();

function carrierText(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  if (value.length > MAX_CARRIER_BYTES || utf8.encode(value).byteLength > MAX_CARRIER_BYTES) return undefined;
  return value;
}

/**
 * The carriers a job's options hold: the string values (up to {@link MAX_CARRIER_BYTES}) of
 * `opts.graylane`, names lower-cased; anything else (a number, an object, a serialised Buffer, a
 * longer value, `opts.graylane` itself not an object) is left out. Never throws.
 */
export function jobCarriers(opts: unknown): MessageHeaders {
  const out: MessageHeaders = {};
  try {
    if (typeof opts !== 'object' || opts === null) return out;
    const raw = (opts as Record<string, unknown>)[JOB_LANE_OPTION];
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return out;
    for (const [key, value] of Object.entries(raw)) {
      const text = carrierText(value);
      if (text !== undefined) out[key.toLowerCase()] = text;
    }
  } catch {
    return {};
  }
  return out;
}

/**
 * The lane a job was stamped with (`undefined`: base, none, or unreadable carriers). Never throws.
 *
 * @example
 * ```ts
 * jobLane(job); // 'gray'
 * ```
 */
export function jobLane(job: { readonly opts?: unknown } | undefined, options: { readonly carriers?: Carriers | undefined } = {}): string | undefined {
  return carriersOrDefault(options.carriers, 'bullmq.jobLane.carriers').extractMessageLane(jobCarriers(job?.opts));
}
