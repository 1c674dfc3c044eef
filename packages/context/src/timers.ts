import { context } from '@opentelemetry/api';
import type { CarrierOptions } from './carriers.js';
import { bindLane, laneOrBase, setLane } from './lane.js';

/**
 * Runs `fn` after `ms` milliseconds in `lane` (`undefined` or `'base'`: the base lane), whatever lane
 * the code that scheduled it was in. A plain `setTimeout` inherits the lane of the request that
 * created it, so a refresh first scheduled by a gray request would call gray forever; this one runs
 * in the lane it is given (for example, a lane recorded with the job). An invalid lane is reported
 * through `diag` and runs in base; never throws.
 */
export function setTimeoutInLane(
  lane: string | undefined,
  fn: () => void,
  ms: number,
  options?: CarrierOptions,
): NodeJS.Timeout {
  return setTimeout(bindLane(fn, setLane(context.active(), laneOrBase(lane, 'setTimeoutInLane'), options)), ms);
}

/**
 * Runs `fn` every `ms` milliseconds, each run in `lane` (`undefined` or `'base'`: the base lane),
 * whatever lane the code that scheduled it was in: for cron-like work started at boot or lazily by
 * the first request. Stop it with `clearInterval`. An invalid lane is reported and runs in base.
 */
export function setIntervalInLane(
  lane: string | undefined,
  fn: () => void,
  ms: number,
  options?: CarrierOptions,
): NodeJS.Timeout {
  return setInterval(bindLane(fn, setLane(context.active(), laneOrBase(lane, 'setIntervalInLane'), options)), ms);
}
