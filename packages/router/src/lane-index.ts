import { BASE_LANE, type Instance } from '@graylane/core';
import type { BalancerKind, FallbackReason } from './types.js';

/** Golden-ratio conjugate: the stride of the weighted round-robin (see {@link LanePool.pick}). */
const GOLDEN = 0.6180339887498949;

const enum Mode {
  RoundRobin,
  WeightedRoundRobin,
  Random,
  WeightedRandom,
}

/**
 * The instances of one service that carry one lane, with the usable ones prepared for O(log n),
 * allocation-free picking.
 */
export class LanePool {
  /** The lane; `undefined` for base. */
  readonly lane: string | undefined;
  /** Every instance carrying the lane, usable or not, sorted by id. */
  readonly members: readonly Instance[];
  /**
   * The instances a pick chooses from: healthy and enabled, and with a positive weight unless every
   * healthy, enabled instance has weight 0 (then those share traffic equally: weight is a load
   * share, not lane membership; disable instances to move a lane's traffic elsewhere).
   */
  readonly usable: readonly Instance[];
  /** Why the pool cannot serve, when {@link LanePool.usable} is empty. */
  readonly unavailable: Exclude<FallbackReason, 'no-instance' | 'connect-failed' | 'lane-unhealthy'> | undefined;
  /**
   * How many members are healthy, enabled and not ejected (whatever their weight): what a health
   * policy counts.
   */
  readonly available: number;

  private readonly mode: Mode;
  /** Running sums of the usable instances' weights (weighted modes only). */
  private readonly cumulative: Float64Array | undefined;
  private readonly total: number;
  private readonly stride: number;
  private cursor: number;

  /**
   * @param excluded ids of ejected instances, left out of {@link LanePool.usable} unless that would
   *   leave the pool with none (ejection never empties a lane).
   */
  constructor(lane: string | undefined, members: readonly Instance[], balancer: BalancerKind, excluded?: ReadonlySet<string>) {
    this.lane = lane;
    this.members = members;
    let live = members.filter((i) => i.healthy && i.enabled);
    if (excluded !== undefined && excluded.size > 0) {
      const kept = live.filter((i) => !excluded.has(i.id));
      if (kept.length > 0) live = kept;
    }
    this.available = live.length;
    const weighted = live.filter((i) => weightOf(i) > 0);
    const usable = weighted.length > 0 ? weighted : live;
    this.usable = usable;
    this.unavailable =
      usable.length > 0 ? undefined : members.some((i) => i.healthy) ? 'all-disabled' : 'all-unhealthy';

    const uniform = weighted.length === 0 || weighted.every((i) => weightOf(i) === weightOf(weighted[0]!));
    if (uniform) {
      this.cumulative = undefined;
      this.total = usable.length;
      this.mode = balancer === 'random' ? Mode.Random : Mode.RoundRobin;
    } else {
      const cumulative = new Float64Array(usable.length);
      let sum = 0;
      for (let i = 0; i < usable.length; i++) cumulative[i] = sum += weightOf(usable[i]!);
      this.cumulative = cumulative;
      this.total = sum;
      this.mode = balancer === 'random' ? Mode.WeightedRandom : Mode.WeightedRoundRobin;
    }
    this.stride = this.total * GOLDEN;
    // Start every process at a different place, so that a fleet restarting together does not
    // send its first requests to the same instance.
    this.cursor = Math.floor(Math.random() * this.total);
  }

  /**
   * The index in {@link LanePool.usable} of the next instance to use. The pool must be usable.
   *
   * Round-robin with equal weights cycles through the instances in id order. With unequal weights
   * it walks the cumulative weight line with a golden-ratio stride (a Weyl sequence) and picks the
   * instance whose segment the cursor lands in: each instance's share converges to its weight, and
   * consecutive picks are spread out rather than bunched (no instance gets its whole weight in a
   * row), like smooth weighted round-robin but O(log n) rather than O(n) per pick.
   */
  pick(): number {
    switch (this.mode) {
      case Mode.RoundRobin: {
        const next = this.cursor + 1;
        this.cursor = next >= this.total ? 0 : next;
        return this.cursor;
      }
      case Mode.WeightedRoundRobin: {
        let next = this.cursor + this.stride;
        if (next >= this.total) next -= this.total;
        this.cursor = next;
        return segmentOf(this.cumulative!, next);
      }
      case Mode.Random:
        return Math.floor(Math.random() * this.total);
      case Mode.WeightedRandom:
        return segmentOf(this.cumulative!, Math.random() * this.total);
    }
  }
}

/** The first i with cumulative[i] > point (point in [0, total)). */
function segmentOf(cumulative: Float64Array, point: number): number {
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cumulative[mid]! > point) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** An instance's weight as the balancer uses it: non-finite and negative weights count as 0. */
function weightOf(instance: Instance): number {
  const w = instance.weight;
  return Number.isFinite(w) && w > 0 ? w : 0;
}

/** The lane an instance serves, with `base` and the empty string read as base. */
function laneOf(instance: Instance): string | undefined {
  const lane = instance.lane;
  return lane === undefined || lane === '' || lane === BASE_LANE ? undefined : lane;
}

/** Options of {@link buildLaneIndex}. */
export interface LaneIndexOptions {
  /** The service name; defaults to the first instance's. Needed for errors about empty lists. */
  readonly service?: string;
  /** How the index's pools pick. Default `round-robin`. */
  readonly balancer?: BalancerKind;
  /**
   * Ids of ejected instances: not chosen, as if unhealthy, except that a lane whose usable
   * instances are all in the set keeps them (ejection never empties a lane).
   */
  readonly excluded?: ReadonlySet<string> | undefined;
}

/**
 * One service's instances grouped by lane: an immutable snapshot built once per instance-list
 * change, so that selection is a map lookup and a pick. Its pools keep the balancer cursors, and it
 * caches resolved lane paths for {@link selectFromIndex}.
 */
export class LaneIndex {
  /** The service the instances belong to. */
  readonly service: string;
  /** Every instance of the service, as given. */
  readonly instances: readonly Instance[];
  private readonly pools: ReadonlyMap<string | undefined, LanePool>;
  #byId: Map<string, LanePool> | undefined;
  /** @internal Resolved lane paths; owned by selectFromIndex. */
  readonly routes = new Map<string, unknown>();
  /** @internal The policy `routes` was resolved with. */
  routesPolicy: unknown = undefined;

  constructor(instances: readonly Instance[], options: LaneIndexOptions = {}) {
    this.service = options.service ?? instances[0]?.service ?? '(unknown)';
    this.instances = instances;
    const byLane = new Map<string | undefined, Instance[]>();
    for (const instance of instances) {
      const lane = laneOf(instance);
      let members = byLane.get(lane);
      if (members === undefined) byLane.set(lane, (members = []));
      members.push(instance);
    }
    const pools = new Map<string | undefined, LanePool>();
    for (const [lane, members] of byLane) {
      members.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      pools.set(lane, new LanePool(lane, members, options.balancer ?? 'round-robin', options.excluded));
    }
    this.pools = pools;
  }

  /**
   * The pool the instance with id `id` belongs to, or `undefined` when it is not listed. The map
   * behind it is built on first use: only for services whose instances are reported failing.
   */
  poolOf(id: string): LanePool | undefined {
    let byId = this.#byId;
    if (byId === undefined) {
      byId = this.#byId = new Map();
      for (const pool of this.pools.values()) for (const member of pool.members) byId.set(member.id, pool);
    }
    return byId.get(id);
  }

  /** The pool of `lane` (`undefined` = base), or `undefined` when no instance carries it. */
  pool(lane: string | undefined): LanePool | undefined {
    return this.pools.get(lane);
  }

  /** The lanes that have at least one instance; `undefined` stands for base. */
  lanes(): readonly (string | undefined)[] {
    return [...this.pools.keys()];
  }
}

/**
 * Groups a service's instances by lane for {@link selectFromIndex}. The pure core of the router;
 * build a new index whenever the instance list changes.
 */
export function buildLaneIndex(instances: readonly Instance[], options?: LaneIndexOptions): LaneIndex {
  return new LaneIndex(instances, options);
}
