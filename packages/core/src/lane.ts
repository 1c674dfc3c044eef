import { ErrorCode, GraylaneError } from './errors.js';

/**
 * The lane of base instances and of requests that carry no lane. It is reserved: a carrier that says
 * `base` means "no lane", and an instance labelled `base` is a base instance.
 */
export const BASE_LANE = 'base';

/** Longest lane name accepted (the Kubernetes label-value limit). */
export const MAX_LANE_LENGTH = 63;

/**
 * Lane grammar: 1-63 characters from `A-Z a-z 0-9 . _ -`, starting and ending with a letter or digit
 * (a Kubernetes label value, so a lane can be a pod label as MSE and OpenSergo expect).
 */
const LANE_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;

/** True when `value` is a syntactically valid lane name (`base` included). */
export function isValidLane(value: string): boolean {
  return value.length <= MAX_LANE_LENGTH && LANE_PATTERN.test(value);
}

/**
 * Normalises a lane read from the outside world: trims it, maps empty and `base` to `undefined`
 * (the base lane), and returns `null` when the value is not a valid lane (callers ignore it with a
 * diagnostic; they never throw on the request path).
 */
export function parseLane(value: string | undefined | null): string | undefined | null {
  if (value === undefined || value === null) return undefined;
  const trimmed = value.trim();
  if (trimmed === '' || trimmed === BASE_LANE) return undefined;
  return isValidLane(trimmed) ? trimmed : null;
}

/** Like {@link parseLane} but throws {@link ErrorCode.LANE_INVALID}; for configuration, not requests. */
export function assertLane(value: string | undefined, where: string): string | undefined {
  const lane = parseLane(value);
  if (lane === null) {
    throw new GraylaneError(
      ErrorCode.LANE_INVALID,
      `${where}: "${String(value).slice(0, 80)}" is not a valid lane name (1-${MAX_LANE_LENGTH} characters of A-Z a-z 0-9 . _ -, starting and ending with a letter or digit)`,
      { details: { where, value } },
    );
  }
  return lane;
}

/** Display form of a lane: `base` for the base lane. */
export function laneLabel(lane: string | undefined): string {
  return lane ?? BASE_LANE;
}
