export { MSE_BAGGAGE_KEY, OPENSERGO_TRAFFIC_HEADER } from './carriers.js';
export type { CarrierOptions, CarrierSwitch } from './carriers.js';
export { DEFAULT_CARRIERS, carriersOrDefault, createCarriers } from './carrier-value.js';
export type { Carriers } from './carrier-value.js';
export { MAX_LANE_HEADER_LENGTH, extractLane } from './extract.js';
export type { InboundHeaders } from './extract.js';
export { MAX_BAGGAGE_LENGTH } from './baggage.js';
export { injectLane } from './inject.js';
export { LANE_KEY, bindEmitter, bindLane, getLane, setLane, withLane } from './lane.js';
export { ensureContextManager, hasContextManager } from './manager.js';
export { extractMessageLane, injectLaneIntoMessage, runInMessageLane } from './messages.js';
export type { MessageHeaders } from './messages.js';
export { LanePropagator } from './propagator.js';
export {
  ATTR_GRAYLANE_FALLBACK,
  ATTR_GRAYLANE_FALLBACK_REASON,
  ATTR_GRAYLANE_INSTANCE,
  ATTR_GRAYLANE_LANE,
  ATTR_GRAYLANE_LANE_COLORED,
  ATTR_GRAYLANE_LANE_REQUESTED,
  ATTR_GRAYLANE_LANE_SERVED,
  ATTR_GRAYLANE_RETRIES,
  ATTR_GRAYLANE_SERVICE,
  recordInboundLane,
  recordSelection,
} from './span.js';
export type { RecordedSelection } from './span.js';
export { stripLaneCarriers } from './strip.js';
export { MAX_LANE_TOKEN_LENGTH, MIN_SECRET_BYTES, parseLaneTokenKeys, signLaneToken } from './token.js';
export type { LaneTokenKey, SignLaneTokenOptions } from './token.js';
export { createEntryDecision } from './entry.js';
export type { EntryDecision, EntryDecisionOptions, EntryLane, EntryRules, LaneDecidedBy } from './entry.js';
export { createInboundLane } from './inbound.js';
export type { InboundLaneOptions, InboundRequest, LaneColoring } from './inbound.js';
export { LANE_TOKEN_HEADER, createLaneTrust, laneTrustFrom } from './trust.js';
export type { LaneTokenOptions, LaneTrust, LaneTrustDecision, LaneTrustOptions, LaneTrustSetting } from './trust.js';
export { MAX_TRAIL_LENGTH, TRAIL_HEADER, createLaneTrail, getLaneTrail, setLaneTrail, writeTrailHeader } from './trail.js';
export type { LaneTrail, TrailHop, TrailResponse, TrailSocket } from './trail.js';
export { setIntervalInLane, setTimeoutInLane } from './timers.js';
export { laneWorkerData, runInWorkerWithLane } from './worker.js';
export type { LaneWorkerData } from './worker.js';
