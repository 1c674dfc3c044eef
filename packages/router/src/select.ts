import { BASE_LANE, ErrorCode, GraylaneError, laneLabel } from '@graylane/core';
import type { LaneIndex, LanePool } from './lane-index.js';
import { compilePolicy, type RoutingPolicy } from './policy.js';
import type { FallbackReason, FallbackStep, Selection } from './types.js';

/** Lane paths cached per index beyond which new lanes are resolved without caching (request lanes
 * come from outside, so their number must not grow memory without bound). */
const MAX_CACHED_ROUTES = 1024;

const NO_FALLBACK: readonly FallbackStep[] = Object.freeze([]);
const DEFAULT_POLICY = compilePolicy();

/** Where requests of one lane go in one index under one policy: a served pool, or a failure. */
interface Route {
  readonly requestedLane: string | undefined;
  readonly pool: LanePool | undefined;
  readonly fallback: readonly FallbackStep[];
  /** The selection of each usable instance of `pool`, made on first use and then shared. */
  readonly selections: (Selection | undefined)[];
  /** Set when no pool can serve: the code to throw. */
  readonly failure: typeof ErrorCode.NO_INSTANCE | typeof ErrorCode.STRICT_LANE | undefined;
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
  if (pool === undefined) throw routeError(index, route);
  const i = pool.pick();
  return route.selections[i] ?? (route.selections[i] = makeSelection(index, route, pool, i));
}

function resolveRoute(index: LaneIndex, lane: string | undefined, policy: RoutingPolicy): Route {
  const steps: FallbackStep[] = [];
  const route = (pool: LanePool | undefined, failure?: Route['failure']): Route => ({
    requestedLane: lane,
    pool,
    fallback: steps.length === 0 ? NO_FALLBACK : Object.freeze(steps),
    selections: [],
    failure,
  });
  const attempt = (candidate: string | undefined): LanePool | undefined => {
    const pool = index.pool(candidate);
    if (pool !== undefined && pool.usable.length > 0) return pool;
    steps.push(Object.freeze({ lane: laneLabel(candidate), reason: pool?.unavailable ?? 'no-instance' }));
    return undefined;
  };

  if (lane !== undefined) {
    const own = attempt(lane);
    if (own !== undefined) return route(own);
    if (policy.isStrict(lane)) return route(undefined, ErrorCode.STRICT_LANE);
    for (const next of policy.chain(lane)) {
      const pool = attempt(next);
      if (pool !== undefined) return route(pool);
    }
  }
  const base = attempt(undefined);
  return base !== undefined ? route(base) : route(undefined, ErrorCode.NO_INSTANCE);
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

function routeError(index: LaneIndex, route: Route): GraylaneError {
  const service = index.service;
  const lane = laneLabel(route.requestedLane);
  const tried = route.fallback.map((s) => s.lane);
  const reason: FallbackReason = route.fallback[route.fallback.length - 1]?.reason ?? 'no-instance';
  const details = { service, lane, tried, reason, steps: route.fallback };
  if (route.failure === ErrorCode.STRICT_LANE) {
    return new GraylaneError(
      ErrorCode.STRICT_LANE,
      `lane "${lane}" is strict and service "${service}" has no usable instance in it (${reason}); strict lanes never fall back`,
      { details },
    );
  }
  const path = route.fallback.map((s) => `${s.lane} (${s.reason})`).join(' → ');
  return new GraylaneError(
    ErrorCode.NO_INSTANCE,
    `no usable instance of service "${service}" for lane "${lane}": tried ${path}`,
    { details },
  );
}
