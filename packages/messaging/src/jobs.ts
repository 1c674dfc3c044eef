import { BASE_LANE } from '@graylane/core';
import { carriersOrDefault, getLane } from '@graylane/context';
import type { Carriers, MessageHeaders } from '@graylane/context';

/** Options of {@link recordJobLane}. */
export interface RecordJobOptions {
  /**
   * The lane to record. Left out: the current lane. Given as `undefined` or `'base'`: base (nothing
   * is recorded, and the job runs in base whoever runs it).
   */
  readonly lane?: string | undefined;
  /** The carriers to write (`graylane.carriers`, or `createCarriers(...)`). Default: graylane's. */
  readonly carriers?: Carriers | undefined;
}

/**
 * Records a lane with a job that runs later (repeating or delayed work, a scheduled task): returns
 * carrier headers to store with the job, for {@link runJobInLane}. Without `lane`, the current lane
 * is recorded.
 */
export function recordJobLane(options: RecordJobOptions = {}): MessageHeaders {
  const carriers = carriersOrDefault(options.carriers, 'recordJobLane.carriers');
  const lane = 'lane' in options ? options.lane : getLane();
  return carriers.injectLaneIntoMessage({}, lane ?? BASE_LANE);
}

/** Options of {@link runJobInLane}. */
export interface RunJobOptions {
  /** `recorded` (default): the lane recorded with the job; `current`: the lane the runner is in. */
  readonly lane?: 'recorded' | 'current';
  /** The carriers the lane was recorded in (the same as {@link recordJobLane}'s). Default: graylane's. */
  readonly carriers?: Carriers | undefined;
}

/** Runs a job recorded with {@link recordJobLane} in the lane it was created in, unless told otherwise. */
export function runJobInLane<T>(recorded: Readonly<MessageHeaders> | undefined, fn: () => T, options: RunJobOptions = {}): T {
  if (options.lane === 'current') return fn();
  return carriersOrDefault(options.carriers, 'runJobInLane.carriers').runInMessageLane(recorded, fn);
}
