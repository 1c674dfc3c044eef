import type { Instance } from '@graylane/core';

/** Why a lane could not serve a request, recorded for every lane the router tried and passed over. */
export type FallbackReason = 'no-instance' | 'all-unhealthy' | 'all-disabled' | 'connect-failed';

/** One lane the router tried before the one that served the request, and why it could not serve. */
export interface FallbackStep {
  /** The lane tried; `base` for the base lane. */
  readonly lane: string;
  /** `no-instance`: no instance carries the lane; `all-unhealthy`: every one is unhealthy;
   * `all-disabled`: the healthy ones are all disabled by an operator; `connect-failed`: the request
   * could not reach any of its usable instances (see {@link SelectOptions.unreachable}). */
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
}

/** Options of {@link createRouter}. */
export interface RouterOptions extends RoutingPolicyInput {
  /** How long {@link LaneRouter.selectAsync} and {@link LaneRouter.ready} wait for a first list. Default 3000. */
  readonly readyTimeoutMs?: number;
  /** How instances of the chosen lane share traffic. Default `round-robin` (weighted). */
  readonly balancer?: BalancerKind;
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
  /** The services the router has an instance list for, in no particular order. */
  services(): readonly string[];
  /** The last instance list of `service` (every instance, usable or not); empty when unknown. */
  instances(service: string): readonly Instance[];
  /** Replaces the instance list of `service`; for use without a registry, and for tests. */
  update(service: string, instances: readonly Instance[]): void;
  /** Calls `listener` after every instance-list change. Returns a function that removes it. */
  onChange(listener: (service: string, instances: readonly Instance[]) => void): () => void;
  /**
   * Replaces the fallback chains and strict lanes (hot reload from rules). Fields left out are kept.
   *
   * @throws GraylaneError `GRAYLANE_ERR_CONFIG_INVALID` when a lane name is invalid; the old policy stays.
   */
  setPolicy(policy: RoutingPolicyInput): void;
  /** Stops every registry subscription and rejects pending waits. Selections from known lists keep working. */
  close(): void;
}
