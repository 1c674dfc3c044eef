/**
 * @graylane/router: lane-aware instance selection. A request's lane is decided once at the entry;
 * on every hop the router picks a usable instance of the callee in that lane, else in each lane of
 * its fallback chain, else a base instance, never one of another lane. Strict lanes never fall back.
 *
 * @packageDocumentation
 */
export { createRouter } from './router.js';
export { buildLaneIndex, LaneIndex, LanePool } from './lane-index.js';
export type { LaneIndexOptions } from './lane-index.js';
export { selectFromIndex } from './select.js';
export { compilePolicy, OUTLIER_DEFAULTS } from './policy.js';
export type { HealthBounds, OutlierSettings, RoutingPolicy } from './policy.js';
export type { RetryOptions } from './deprecated.js';
export type {
  BalancerKind,
  FallbackReason,
  FallbackStep,
  HealthPolicyInput,
  InstanceFailure,
  InstanceRef,
  LaneHealth,
  LaneRouter,
  OutlierPolicyInput,
  RouterOptions,
  RoutingPolicyInput,
  SelectOptions,
  Selection,
  StrictLanes,
} from './types.js';
