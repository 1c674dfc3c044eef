export { parseTrail } from './trail.js';
export type { Hop } from './trail.js';
export { checkCarriers, checkLaneHops, checkUnmarkedHops } from './check.js';
export type { CarrierFinding, CheckedHop, LaneExpectation, ReceivedHeaders } from './check.js';
export { TRAIL_HEADER, formatChain, toJUnit, verifyLane } from './verify.js';
export type { LaneVerification, VerifiedRequest, VerifyLaneOptions } from './verify.js';
