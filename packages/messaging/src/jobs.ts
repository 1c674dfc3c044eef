import { BASE_LANE } from '@graylane/core';
import { getLane, injectLaneIntoMessage, runInMessageLane } from '@graylane/context';
import type { CarrierOptions, MessageHeaders } from '@graylane/context';

/**
 * Records a lane with a job that runs later (repeating or delayed work, a scheduled task): returns
 * carrier headers to store with the job. Without arguments the current lane is recorded; an explicit
 * `undefined` records base (nothing).
 */
export function recordJobLane(...args: [lane?: string | undefined, options?: CarrierOptions]): MessageHeaders {
  const lane = args.length === 0 ? getLane() : args[0];
  return injectLaneIntoMessage({}, lane ?? BASE_LANE, args[1]);
}

/** Options of {@link runJobInLane}. */
export interface RunJobOptions {
  /** `recorded` (default): the lane recorded with the job; `current`: the lane the runner is in. */
  readonly lane?: 'recorded' | 'current';
  readonly carriers?: CarrierOptions;
}

/** Runs a job recorded with {@link recordJobLane} in the lane it was created in, unless told otherwise. */
export function runJobInLane<T>(recorded: Readonly<MessageHeaders> | undefined, fn: () => T, options: RunJobOptions = {}): T {
  if (options.lane === 'current') return fn();
  return runInMessageLane(recorded, fn, options.carriers);
}
