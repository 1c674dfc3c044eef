import { ErrorCode, GraylaneError, systemClock, type Instance, type Registry } from '@graylane/core';
import { LaneIndex } from './lane-index.js';
import { OutlierTracker } from './outlier.js';
import { compilePolicy, type RoutingPolicy } from './policy.js';
import { selectFromIndex, selectReachable } from './select.js';
import type { BalancerKind, InstanceRef, LaneRouter, RouterOptions, RoutingPolicyInput, SelectOptions, Selection } from './types.js';

const DEFAULT_READY_TIMEOUT_MS = 3000;
const BALANCERS: readonly BalancerKind[] = ['round-robin', 'random'];

type ChangeListener = (service: string, instances: readonly Instance[]) => void;

/** What the router knows about one callee service. */
interface ServiceState {
  /** Built from the last instance list; `undefined` until the first list arrives. */
  index: LaneIndex | undefined;
  /** Set once the router subscribes to the service in its registry. */
  unsubscribe: (() => void) | undefined;
  /** Outlier ejection state; created at the first failure reported while ejection is on. */
  outlier: OutlierTracker | undefined;
  /** When the earliest ejection ends (`outlier.nextExpiry`), read on every select; `Infinity` when none. */
  expiresAt: number;
}

/** A caller of ready/selectAsync waiting for first lists. */
interface Wait {
  readonly missing: Set<string>;
  readonly resolve: () => void;
  readonly reject: (error: GraylaneError) => void;
}

/**
 * Creates a lane router. With a registry, the router subscribes to each callee service the first
 * time it is asked about it (or in {@link LaneRouter.ready}); without one, feed it with
 * {@link LaneRouter.update}.
 *
 * @throws GraylaneError `GRAYLANE_ERR_CONFIG_INVALID` for invalid options or lane names.
 */
export function createRouter(registry: Registry | undefined, options: RouterOptions = {}): LaneRouter {
  const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  if (!(Number.isFinite(readyTimeoutMs) && readyTimeoutMs > 0)) {
    throw new GraylaneError(ErrorCode.CONFIG_INVALID, `readyTimeoutMs must be a positive number of milliseconds, got ${String(readyTimeoutMs)}`, {
      details: { path: 'readyTimeoutMs', value: readyTimeoutMs },
    });
  }
  const balancer = options.balancer ?? 'round-robin';
  if (!BALANCERS.includes(balancer)) {
    throw new GraylaneError(ErrorCode.CONFIG_INVALID, `balancer must be one of ${BALANCERS.join(', ')}, got ${String(balancer)}`, {
      details: { path: 'balancer', value: balancer },
    });
  }
  const clock = options.clock ?? systemClock;
  let policyInput: RoutingPolicyInput = {
    fallback: options.fallback,
    strict: options.strict,
    health: options.health,
    outlier: options.outlier,
  };
  let policy: RoutingPolicy = compilePolicy(policyInput);

  const states = new Map<string, ServiceState>();
  const listeners = new Set<ChangeListener>();
  const waits = new Set<Wait>();
  let closed = false;

  function stateOf(service: string): ServiceState {
    let state = states.get(service);
    if (state === undefined) {
      states.set(service, (state = { index: undefined, unsubscribe: undefined, outlier: undefined, expiresAt: Infinity }));
    }
    return state;
  }

  /** Builds the index of `service` from `list`, leaving out the instances ejected now. */
  function reindex(service: string, state: ServiceState, list: readonly Instance[]): LaneIndex {
    const outlier = state.outlier;
    state.expiresAt = outlier?.nextExpiry ?? Infinity;
    return (state.index = new LaneIndex(list, { service, balancer, excluded: outlier?.ejected }));
  }

  /** Ends the ejections of `service` that are due; rebuilds its index when one ended. */
  function expire(service: string, state: ServiceState, current: LaneIndex): LaneIndex {
    const outlier = state.outlier;
    if (outlier === undefined || !outlier.expire(clock.now(), policy.outlier)) {
      state.expiresAt = outlier?.nextExpiry ?? Infinity;
      return current;
    }
    return reindex(service, state, current.instances);
  }

  /** Subscribes to `service` once; a registry that throws leaves it unwatched, retried next time. */
  function watch(service: string): GraylaneError | undefined {
    if (registry === undefined || closed) return undefined;
    const state = stateOf(service);
    if (state.unsubscribe !== undefined) return undefined;
    state.unsubscribe = noop; // set first: the registry may call the listener synchronously
    try {
      state.unsubscribe = registry.subscribe(service, (instances) => {
        if (!closed) update(service, instances);
      });
      return undefined;
    } catch (cause) {
      state.unsubscribe = undefined;
      return new GraylaneError(ErrorCode.REGISTRY, `could not watch service "${service}" in the ${registry.kind} registry`, {
        details: { service, registry: registry.kind },
        cause,
      });
    }
  }

  function notReady(services: readonly string[], cause?: unknown, waitedMs?: number): GraylaneError {
    const names = services.map((s) => `"${s}"`).join(', ');
    const how =
      registry === undefined
        ? 'this router has no registry: give it lists with router.update()'
        : waitedMs === undefined
          ? `the router is now watching the ${registry.kind} registry; await router.ready([...]) at start-up or use selectAsync()`
          : `the ${registry.kind} registry did not list ${services.length === 1 ? 'it' : 'them'} within ${waitedMs} ms`;
    return new GraylaneError(ErrorCode.NOT_READY, `no instance list yet for service ${names}: ${how}`, {
      details: { services: [...services], ...(waitedMs === undefined ? {} : { timeoutMs: waitedMs }) },
      cause,
    });
  }

  function waitFor(services: readonly string[], timeoutMs: number): Promise<void> {
    if (closed) return Promise.reject(closedError());
    const missing = new Set<string>();
    let cause: GraylaneError | undefined;
    for (const service of services) {
      cause = watch(service) ?? cause;
      if (states.get(service)?.index === undefined) missing.add(service);
    }
    if (missing.size === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        waits.delete(wait);
        reject(notReady([...missing], cause, timeoutMs));
      }, timeoutMs);
      const wait: Wait = {
        missing,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      waits.add(wait);
    });
  }

  function select(service: string, lane: string | undefined, options?: SelectOptions): Selection {
    const state = states.get(service);
    let index = state?.index;
    if (index === undefined) {
      const cause = watch(service);
      index = states.get(service)?.index; // a registry with a cache may list synchronously
      if (index === undefined) throw notReady([service], cause);
    } else if (state!.expiresAt !== Infinity && state!.expiresAt <= clock.now()) {
      index = expire(service, state!, index);
    }
    const unreachable = options?.unreachable;
    return unreachable === undefined || unreachable.size === 0
      ? selectFromIndex(index, lane, policy)
      : selectReachable(index, lane, unreachable, policy);
  }

  function update(service: string, instances: readonly Instance[]): void {
    const list = Object.freeze([...instances]);
    const state = stateOf(service);
    state.outlier?.retain(list, clock.now(), policy.outlier);
    reindex(service, state, list);
    for (const wait of waits) {
      if (wait.missing.delete(service) && wait.missing.size === 0) {
        waits.delete(wait);
        wait.resolve();
      }
    }
    for (const listener of listeners) {
      try {
        listener(service, list);
      } catch {
        // A listener's failure must not stop the others, nor the registry that called us.
      }
    }
  }

  return {
    select,
    update,

    async selectAsync(service, lane) {
      if (states.get(service)?.index === undefined) await waitFor([service], readyTimeoutMs);
      return select(service, lane);
    },

    ready(services, readyOptions) {
      const timeoutMs = readyOptions?.timeoutMs ?? readyTimeoutMs;
      return waitFor([...new Set(services)], timeoutMs);
    },

    watches: (service) => {
      const unsubscribe = states.get(service)?.unsubscribe;
      return unsubscribe !== undefined;
    },

    knows: (service) => {
      const state = states.get(service);
      return state !== undefined && (state.unsubscribe !== undefined || state.index !== undefined);
    },

    listed: (service) => states.get(service)?.index !== undefined,

    services: () => [...states].filter(([, s]) => s.index !== undefined).map(([name]) => name),

    instances: (service) => states.get(service)?.index?.instances ?? [],

    onChange(listener) {
      const own: ChangeListener = (service, instances) => listener(service, instances);
      listeners.add(own);
      return () => void listeners.delete(own);
    },

    setPolicy(input) {
      const next: RoutingPolicyInput = {
        fallback: 'fallback' in input ? input.fallback : policyInput.fallback,
        strict: 'strict' in input ? input.strict : policyInput.strict,
        health: 'health' in input ? input.health : policyInput.health,
        outlier: 'outlier' in input ? input.outlier : policyInput.outlier,
      };
      policy = compilePolicy(next, policy);
      policyInput = next;
      if (policy.outlier === undefined) {
        // Ejection turned off: every ejection is lifted, and what was counted is forgotten.
        for (const [service, state] of states) {
          if (state.outlier === undefined) continue;
          state.outlier = undefined;
          if (state.index !== undefined) reindex(service, state, state.index.instances);
          else state.expiresAt = Infinity;
        }
      }
    },

    reportFailure(instance: InstanceRef) {
      const settings = policy.outlier;
      if (settings === undefined) return;
      const state = states.get(instance.service);
      const current = state?.index;
      if (current === undefined) return;
      const pool = current.poolOf(instance.id);
      if (pool === undefined) return; // no longer listed
      const outlier = (state!.outlier ??= new OutlierTracker());
      if (outlier.failure(instance.id, pool, settings, clock.now())) reindex(instance.service, state!, current.instances);
    },

    reportSuccess(instance: InstanceRef) {
      states.get(instance.service)?.outlier?.success(instance.id);
    },

    ejectsOutliers: () => policy.outlier !== undefined,

    ejected(service) {
      const state = states.get(service);
      if (state?.index === undefined || state.outlier === undefined) return [];
      if (state.expiresAt <= clock.now()) expire(service, state, state.index);
      return [...state.outlier.ejected];
    },

    close() {
      if (closed) return;
      closed = true;
      for (const state of states.values()) {
        const unsubscribe = state.unsubscribe;
        state.unsubscribe = undefined;
        try {
          unsubscribe?.();
        } catch {
          // Closing is best effort; a registry failing to unsubscribe is closing anyway.
        }
      }
      for (const wait of waits) wait.reject(closedError());
      waits.clear();
      listeners.clear();
    },
  };
}

function closedError(): GraylaneError {
  return new GraylaneError(ErrorCode.CLOSED, 'the lane router is closed');
}

function noop(): void {}
