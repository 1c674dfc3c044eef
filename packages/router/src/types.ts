import type { Clock, Instance } from '@graylane/core';

/** Why a lane could not serve a request, recorded for every lane the router tried and passed over. */
export type FallbackReason = 'no-instance' | 'all-unhealthy' | 'all-disabled' | 'connect-failed' | 'lane-unhealthy';

/** One lane the router tried before the one that served the request, and why it could not serve. */
export interface FallbackStep {
  /** The lane tried; `base` for the base lane. */
  readonly lane: string;
  /** `no-instance`: no instance carries the lane; `all-unhealthy`: every one is unhealthy;
   * `all-disabled`: the healthy ones are all disabled by an operator; `connect-failed`: the request
   * could not reach any of its usable instances (see {@link SelectOptions.unreachable});
   * `lane-unhealthy`: it has usable instances, but fewer than its health policy asks for (see
   * {@link RoutingPolicyInput.health}). */
  readonly reason: FallbackReason;
}

/**
 * The outcome of one selection. Selections are immutable and may be shared between calls (the
 * router caches one per instance and lane path), so never mutate or attach state to them.
 */
export interface Selection {
  /** The instance to call. */
  readonly instance: Instance;
  /** The callee's service name. */
  readonly service: string;
  /** The lane the request carries; `undefined` for a request without a lane. */
  readonly requestedLane: string | undefined;
  /** The lane of the chosen instance; `undefined` when a base instance serves the request. */
  readonly servedLane: string | undefined;
  /** The lanes tried and passed over, in order; empty when served in the requested lane. */
  readonly fallback: readonly FallbackStep[];
}

/** Options of {@link LaneRouter.select} for choosing again after a failed attempt. */
export interface SelectOptions {
  /**
   * Ids of instances the request could not reach (connection refused, reset before any response
   * byte): they are never chosen. A lane whose usable instances are all in the set is passed over
   * with reason `connect-failed`, so the request moves along its fallback chain to base, or, in a
   * strict lane, fails. A non-empty set takes a slower path that allocates; meant for retries.
   */
  readonly unreachable?: ReadonlySet<string>;
}

/** How a lane router spreads requests across the instances of the lane it chose. */
export type BalancerKind = 'round-robin' | 'random';

/**
 * Predicate or list naming the strict lanes: lanes that never fall back. A request in a strict lane
 * with no usable instance of the callee fails with `GRAYLANE_ERR_STRICT_LANE`.
 */
export type StrictLanes = readonly string[] | ((lane: string) => boolean);

/** The part of a router's options that rules may change at run time ({@link LaneRouter.setPolicy}). */
export interface RoutingPolicyInput {
  /**
   * Fallback chains: lane → the intermediate lanes tried, in order, before base. A lane not listed
   * falls back straight to base. Chains are not transitive: `{ a: ['b'], b: ['c'] }` makes `a` try
   * `a → b → base`, never `c`.
   */
  readonly fallback?: Readonly<Record<string, readonly string[]>> | undefined;
  /** Lanes that never fall back. */
  readonly strict?: StrictLanes | undefined;
  /**
   * When a lane is too thin to serve: a lane with fewer usable instances (healthy, enabled, not
   * ejected) than its {@link LaneHealth} asks for is passed over with reason `lane-unhealthy`, as
   * if it had none (a strict lane then fails with `GRAYLANE_ERR_STRICT_LANE`). Never applies to
   * base, which serves whatever it has. Default: no health policy.
   */
  readonly health?: HealthPolicyInput | undefined;
  /**
   * Outlier ejection: an instance that callers could not connect to `consecutiveFailures` times in
   * a row (as reported with {@link LaneRouter.reportFailure}; the outbound adapters and the gateway
   * report their own) is not chosen for a while. Default: off; `{}` turns it on with the defaults.
   */
  readonly outlier?: OutlierPolicyInput | false | undefined;
}

/** How many usable instances a lane needs to serve; a lane below either bound is passed over. */
export interface LaneHealth {
  /** At least this many usable instances (a whole number, 0 or more). Default 0: no bound. */
  readonly minHealthy?: number | undefined;
  /** At least this percentage (0-100) of the lane's listed instances usable. Default 0: no bound. */
  readonly minHealthyPercent?: number | undefined;
}

/** {@link RoutingPolicyInput.health}: a default for every lane, and per-lane overrides. */
export interface HealthPolicyInput {
  /** The health every lane (never base) must have, unless `lanes` names it. */
  readonly default?: LaneHealth | undefined;
  /** Per lane, the health it must have instead of `default` (`{}` exempts a lane). */
  readonly lanes?: Readonly<Record<string, LaneHealth>> | undefined;
}

/** {@link RoutingPolicyInput.outlier}: when an instance is ejected, and for how long. */
export interface OutlierPolicyInput {
  /**
   * Failures in a row (connect failures, and resets before any response byte) that eject an
   * instance. Default 5. Failures count as in a row while no success is reported (a response, or a
   * connection made) and each comes within `windowMs` of the one before.
   */
  readonly consecutiveFailures?: number | undefined;
  /** How far apart two failures may be and still count as in a row, in ms. Default 10 000. */
  readonly windowMs?: number | undefined;
  /**
   * How long the first ejection lasts, in ms. Default 30 000. Each ejection of an instance ejected
   * before lasts `ejectMs` more (ejectMs × times ejected), up to `maxEjectMs`; an instance that was
   * not ejected again for `maxEjectMs` after its last ejection ended starts over at `ejectMs`.
   */
  readonly ejectMs?: number | undefined;
  /** The longest an ejection lasts, in ms. Default 300 000 (and never below `ejectMs`). */
  readonly maxEjectMs?: number | undefined;
  /**
   * The largest share (0-100) of a lane's listed instances ejected at once. Default 50. Whatever
   * the share, the last usable instance of a lane is never ejected: ejection spares retries among
   * a lane's instances; it never empties a lane (a health policy decides when a lane is too thin).
   */
  readonly maxEjectedPercent?: number | undefined;
}

/**
 * What a caller learned of an instance ({@link LaneRouter.reportFailure}): it could not connect
 * (`connect-failed`), or the connection was reset before any byte of a response (`reset`). Both
 * count toward outlier ejection, as Envoy counts its locally originated failures.
 */
export type InstanceFailure = 'connect-failed' | 'reset';

/** The instance a report is about: an {@link Instance} (or any object with its service and id). */
export type InstanceRef = Pick<Instance, 'service' | 'id'>;

/** Options of {@link createRouter}. */
export interface RouterOptions extends RoutingPolicyInput {
  /** How long {@link LaneRouter.selectAsync} and {@link LaneRouter.ready} wait for a first list. Default 3000. */
  readonly readyTimeoutMs?: number;
  /** How instances of the chosen lane share traffic. Default `round-robin` (weighted). */
  readonly balancer?: BalancerKind;
  /** Where outlier ejection reads the time (only `now()`). Default the system clock; tests pass a fake one. */
  readonly clock?: Clock | undefined;
}

/**
 * Chooses, per call, an instance of a callee service for a request's lane, keeping an up-to-date
 * instance list per service from a {@link Registry} (or from {@link LaneRouter.update}).
 */
export interface LaneRouter {
  /**
   * Picks an instance of `service` for `lane`: an instance of the lane, else of each lane of its
   * fallback chain, else a base instance. Synchronous, no I/O. To retry a call whose instance could
   * not be reached, select again with {@link SelectOptions.unreachable}: the same walk, skipping
   * those instances.
   *
   * @throws GraylaneError `GRAYLANE_ERR_NOT_READY` when the service has never been listed (the router
   *   starts watching it, so a later call succeeds); `GRAYLANE_ERR_STRICT_LANE` when a strict lane
   *   has no usable instance; `GRAYLANE_ERR_NO_INSTANCE` when neither the lane, its chain nor base has one.
   */
  select(service: string, lane: string | undefined, options?: SelectOptions): Selection;
  /**
   * Like {@link LaneRouter.select}, but first waits (at most `readyTimeoutMs`) for the first instance
   * list of a service not listed yet. Rejects with the same errors `select` throws.
   */
  selectAsync(service: string, lane: string | undefined): Promise<Selection>;
  /**
   * Starts watching `services` and resolves once each has been listed (an empty list counts).
   * Call it at start-up so that the first requests are not refused or misrouted.
   *
   * @throws GraylaneError `GRAYLANE_ERR_NOT_READY` naming the services still missing after the timeout.
   */
  ready(services: readonly string[], options?: { readonly timeoutMs?: number }): Promise<void>;
  /** True once the router subscribes to the service in its registry. */
  watches(service: string): boolean;
  /**
   * True when the router knows the service: it watches it, or was given its list with
   * {@link LaneRouter.update}. Outbound adapters route only hosts the router knows (or was told of).
   */
  knows(service: string): boolean;
  /**
   * True when the router has an instance list for the service (an empty one counts), so that
   * {@link LaneRouter.select} answers now instead of throwing `GRAYLANE_ERR_NOT_READY`. Starts
   * nothing: a service not listed yet is watched by the first `select`/`selectAsync`/`ready`.
   */
  listed(service: string): boolean;
  /** The services the router has an instance list for, in no particular order. */
  services(): readonly string[];
  /** The last instance list of `service` (every instance, usable or not); empty when unknown. */
  instances(service: string): readonly Instance[];
  /** Replaces the instance list of `service`; for use without a registry, and for tests. */
  update(service: string, instances: readonly Instance[]): void;
  /** Calls `listener` after every instance-list change. Returns a function that removes it. */
  onChange(listener: (service: string, instances: readonly Instance[]) => void): () => void;
  /**
   * Replaces the fallback chains, strict lanes, health policy and outlier ejection (hot reload from
   * rules). Fields left out are kept; turning `outlier` off lifts every ejection.
   *
   * @throws GraylaneError `GRAYLANE_ERR_CONFIG_INVALID` listing every invalid field; the old policy stays.
   */
  setPolicy(policy: RoutingPolicyInput): void;
  /**
   * Tells the router a call could not connect to `instance` (refused, unreachable, or reset before
   * any response byte). With outlier ejection on, `consecutiveFailures` of them in a row eject it.
   * Cheap, synchronous; ignored when ejection is off or the instance is no longer listed.
   */
  reportFailure(instance: InstanceRef, kind?: InstanceFailure): void;
  /** Tells the router a call reached `instance`: its count of failures in a row starts over. Cheap. */
  reportSuccess(instance: InstanceRef): void;
  /**
   * True while outlier ejection is on ({@link RoutingPolicyInput.outlier}): callers should then
   * report the outcome of every attempt, retried or not ({@link LaneRouter.reportFailure},
   * {@link LaneRouter.reportSuccess}). The outbound adapters and the gateway do.
   */
  ejectsOutliers(): boolean;
  /** The ids of the instances of `service` ejected now, in no particular order. */
  ejected(service: string): readonly string[];
  /** Stops every registry subscription and rejects pending waits. Selections from known lists keep working. */
  close(): void;
}
