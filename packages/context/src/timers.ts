import { context } from '@opentelemetry/api';
import { DEFAULT_PLAN } from './carriers.js';
import type { CarrierPlan } from './carriers.js';
import { bindLane, laneOrBase, setLaneWith } from './lane.js';

/**
 * Runs `fn` after `ms` milliseconds in `lane` (`undefined` or `'base'`: the base lane), whatever lane
 * the code that scheduled it was in. A plain `setTimeout` inherits the lane of the request that
 * created it, so a refresh first scheduled by a gray request would call gray forever; this one runs
 * in the lane it is given (for example, a lane recorded with the job). An invalid lane is reported
 * through `diag` and runs in base; never throws.
 */
export function setTimeoutInLane(lane: string | undefined, fn: () => void, ms: number): NodeJS.Timeout {
  return setTimeoutInLaneWith(DEFAULT_PLAN, lane, fn, ms);
}

/** {@link setTimeoutInLane} on the carriers of `plan`. */
export function setTimeoutInLaneWith(plan: CarrierPlan, lane: string | undefined, fn: () => void, ms: number): NodeJS.Timeout {
  return setTimeout(bindLane(fn, setLaneWith(plan, context.active(), laneOrBase(lane, 'setTimeoutInLane'))), ms);
}

/**
 * Runs `fn` every `ms` milliseconds, each run in `lane` (`undefined` or `'base'`: the base lane),
 * whatever lane the code that scheduled it was in: for cron-like work started at boot or lazily by
 * the first request. Stop it with `clearInterval`. An invalid lane is reported and runs in base.
 */
export function setIntervalInLane(lane: string | undefined, fn: () => void, ms: number): NodeJS.Timeout {
  return setIntervalInLaneWith(DEFAULT_PLAN, lane, fn, ms);
}

/** {@link setIntervalInLane} on the carriers of `plan`. */
export function setIntervalInLaneWith(plan: CarrierPlan, lane: string | undefined, fn: () => void, ms: number): NodeJS.Timeout {
  return setInterval(bindLane(fn, setLaneWith(plan, context.active(), laneOrBase(lane, 'setIntervalInLane'))), ms);
}
