import { BASE_LANE, ErrorCode, GraylaneError, laneLabel } from '@graylane/core';
import type { LaneIndex, LanePool } from './lane-index.js';
import { compilePolicy, type RoutingPolicy } from './policy.js';
import type { FallbackReason, FallbackStep, Selection } from './types.js';

/** Lane paths cached per index beyond which new lanes are resolved without caching (request lanes
 * come from outside, so their number must not grow memory without bound). */
const MAX_CACHED_ROUTES = 1024;

const NO_FALLBACK: readonly FallbackStep[] = Object.freeze([]);
const DEFAULT_POLICY = compilePolicy();

/** Why a walk over a request's lanes found no instance: the code of the error to throw. */
type RouteFailure = typeof ErrorCode.NO_INSTANCE | typeof ErrorCode.STRICT_LANE;

/** Where requests of one lane go in one index under one policy: a served pool, or a failure. */
interface Route {
  readonly requestedLane: string | undefined;
  readonly pool: LanePool | undefined;
  readonly fallback: readonly FallbackStep[];
  /** The selection of each usable instance of `pool`, made on first use and then shared. */
  readonly selections: (Selection | undefined)[];
  /** Set when no pool can serve: the code to throw. */
  readonly failure: RouteFailure | undefined;
}

/**
 * Picks an instance from `index` for a request in `lane` (`undefined` = no lane): the lane's pool,
 * else each lane of its fallback chain, else base; never another lane. Allocation-free once a lane
 * has been seen: the resolved path and each selection are cached on the index.
 *
 * @throws GraylaneError `GRAYLANE_ERR_STRICT_LANE` or `GRAYLANE_ERR_NO_INSTANCE` with
 *   `details: { service, lane, tried, reason, steps }`.
 */
export function selectFromIndex(
  index: LaneIndex,
  lane: string | undefined,
  policy: RoutingPolicy = DEFAULT_POLICY,
): Selection {
  if (lane === BASE_LANE || lane === '') lane = undefined;
  if (index.routesPolicy !== policy) {
    index.routes.clear();
    index.routesPolicy = policy;
  }
  const key = lane ?? '';
  let route = index.routes.get(key) as Route | undefined;
  if (route === undefined) {
    route = resolveRoute(index, lane, policy);
    if (index.routes.size < MAX_CACHED_ROUTES) index.routes.set(key, route);
  }
  const pool = route.pool;
  if (pool === undefined) throw routeError(index.service, route.requestedLane, route.fallback, route.failure!);
  const i = pool.pick();
  return route.selections[i] ?? (route.selections[i] = makeSelection(index, route, pool, i));
}

/**
 * Like {@link selectFromIndex}, but never chooses an instance whose id is in `unreachable`; a lane
 * whose usable instances are all unreachable is passed over with reason `connect-failed`. Walks the
 * same lanes in the same order, from the requested lane again, so a fresh instance list is honoured.
 * Allocates (it serves retries, not the steady state) and caches nothing.
 *
 * @throws GraylaneError as {@link selectFromIndex} does, once every candidate is unreachable.
 */
export function selectReachable(
  index: LaneIndex,
  lane: string | undefined,
  unreachable: ReadonlySet<string>,
  policy: RoutingPolicy = DEFAULT_POLICY,
): Selection {
  if (lane === BASE_LANE || lane === '') lane = undefined;
  const steps: FallbackStep[] = [];
  const served = walkLanes(lane, policy, (candidate) => {
    const pool = index.pool(candidate);
    const reason = passOver(pool, policy);
    if (pool === undefined || reason !== undefined) {
      steps.push(step(candidate, reason ?? 'no-instance'));
      return undefined;
    }
    const usable = pool.usable;
    // Start where the balancer points, so that retries of many calls spread over what is left.
    const start = pool.pick();
    for (let k = 0; k < usable.length; k++) {
      const instance = usable[(start + k) % usable.length]!;
      if (!unreachable.has(instance.id)) return { instance, servedLane: pool.lane };
    }
    steps.push(step(candidate, 'connect-failed'));
    return undefined;
  });
  const fallback = steps.length === 0 ? NO_FALLBACK : Object.freeze(steps);
  if (served === undefined) throw routeError(index.service, lane, fallback, failureOf(lane, policy));
  return Object.freeze({ ...served, service: index.service, requestedLane: lane, fallback });
}

function resolveRoute(index: LaneIndex, lane: string | undefined, policy: RoutingPolicy): Route {
  const steps: FallbackStep[] = [];
  const pool = walkLanes(lane, policy, (candidate) => {
    const pool = index.pool(candidate);
    const reason = passOver(pool, policy);
    if (reason === undefined) return pool;
    steps.push(step(candidate, reason));
    return undefined;
  });
  return {
    requestedLane: lane,
    pool,
    fallback: steps.length === 0 ? NO_FALLBACK : Object.freeze(steps),
    selections: [],
    failure: pool === undefined ? failureOf(lane, policy) : undefined,
  };
}

/**
 * Visits the lanes a request in `lane` may be served by, in order, until `visit` returns a value:
 * the lane itself, then (unless it is strict) each lane of its fallback chain, then base. Never
 * another lane.
 */
function walkLanes<T>(
  lane: string | undefined,
  policy: RoutingPolicy,
  visit: (candidate: string | undefined) => T | undefined,
): T | undefined {
  if (lane !== undefined) {
    const own = visit(lane);
    if (own !== undefined || policy.isStrict(lane)) return own;
    for (const next of policy.chain(lane)) {
      const found = visit(next);
      if (found !== undefined) return found;
    }
  }
  return visit(undefined);
}

/**
 * Why `pool` cannot serve, or `undefined` when it can: it has a usable instance and, unless it is
 * base, at least as many available instances as the lane's health policy asks for. Runs when a
 * route is resolved (once per index, lane and policy), not per request.
 */
function passOver(pool: LanePool | undefined, policy: RoutingPolicy): FallbackReason | undefined {
  if (pool === undefined) return 'no-instance';
  if (pool.usable.length === 0) return pool.unavailable ?? 'all-unhealthy';
  if (pool.lane !== undefined) {
    const bounds = policy.health(pool.lane);
    if (
      bounds !== undefined &&
      (pool.available < bounds.minHealthy || pool.available * 100 < bounds.minHealthyPercent * pool.members.length)
    ) {
      return 'lane-unhealthy';
    }
  }
  return undefined;
}

function step(lane: string | undefined, reason: FallbackReason): FallbackStep {
  return Object.freeze({ lane: laneLabel(lane), reason });
}

/** The error code of a walk that found nothing. */
function failureOf(lane: string | undefined, policy: RoutingPolicy): RouteFailure {
  return lane !== undefined && policy.isStrict(lane) ? ErrorCode.STRICT_LANE : ErrorCode.NO_INSTANCE;
}

function makeSelection(index: LaneIndex, route: Route, pool: LanePool, i: number): Selection {
  return Object.freeze({
    instance: pool.usable[i]!,
    service: index.service,
    requestedLane: route.requestedLane,
    servedLane: pool.lane,
    fallback: route.fallback,
  });
}

function routeError(
  service: string,
  requestedLane: string | undefined,
  steps: readonly FallbackStep[],
  failure: RouteFailure,
): GraylaneError {
  const lane = laneLabel(requestedLane);
  const tried = steps.map((s) => s.lane);
  const reason: FallbackReason = steps[steps.length - 1]?.reason ?? 'no-instance';
  const details = { service, lane, tried, reason, steps };
  if (failure === ErrorCode.STRICT_LANE) {
    return new GraylaneError(
      ErrorCode.STRICT_LANE,
      `lane "${lane}" is strict and service "${service}" has no usable instance in it (${reason}); strict lanes never fall back`,
      { details },
    );
  }
  const path = steps.map((s) => `${s.lane} (${s.reason})`).join(' → ');
  return new GraylaneError(
    ErrorCode.NO_INSTANCE,
    `no usable instance of service "${service}" for lane "${lane}": tried ${path}`,
    { details },
  );
}
