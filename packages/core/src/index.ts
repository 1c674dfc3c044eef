export { ErrorCode, GraylaneError, isGraylaneError } from './errors.js';
export type { GraylaneErrorOptions } from './errors.js';
export { BASE_LANE, MAX_LANE_LENGTH, assertLane, isValidLane, laneLabel, parseLane } from './lane.js';
export { WireNames, createInstance, laneFromEnv, laneFromMetadata, laneMetadata } from './metadata.js';
export type { InstanceFields } from './metadata.js';
export { registrationInstance } from './registration.js';
export type { Instance, InstanceRegistration, InstancesListener, Registry } from './instance.js';
export { backoffDelay } from './backoff.js';
export type { BackoffCurve } from './backoff.js';
