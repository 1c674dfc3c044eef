import type { Dispatcher } from 'undici-types';
import { ErrorCode, GraylaneError } from '@graylane/core';
import { laneInterceptor } from './interceptor.js';
import type { LaneInterceptorOptions } from './interceptor.js';

/** Options of {@link createLaneFetch}. */
export interface LaneFetchOptions extends LaneInterceptorOptions {
  /**
   * The dispatcher requests go through. Default: the global dispatcher as it is at each call, so a
   * later `setGlobalDispatcher` (a proxy agent, say) is honoured. A `dispatcher` in a call's `init`
   * wins over both.
   */
  readonly dispatcher?: Dispatcher;
  /**
   * The fetch to wrap. Default: the global `fetch` as it is at each call. It must be undici's fetch
   * (Node's global one, or undici's export), since the routing happens in its dispatcher.
   */
  readonly fetch?: typeof globalThis.fetch;
}

/**
 * A `fetch` that routes service-name URLs in the caller's lane (see {@link laneInterceptor}); other
 * URLs are fetched unchanged and without lane carriers. Redirects are routed too: each hop is
 * dispatched again, so a redirect to a third party gets no lane carrier.
 *
 * When no instance qualifies it rejects, as fetch does on any network failure, with
 * `TypeError('fetch failed')` whose `cause` is graylane's typed error (check it with
 * `isGraylaneError(error.cause)`).
 *
 * @throws GraylaneError `GRAYLANE_ERR_CONFIG_INVALID` when no `dispatcher` is given and the runtime
 *   has no global undici dispatcher (Node always has one).
 * @example
 * ```ts
 * const laneFetch = createLaneFetch({ router: graylane.router, carriers: graylane.carriers });
 * const res = await laneFetch('http://b/hello'); // a B instance in the request's lane
 * ```
 */
export function createLaneFetch(options: LaneFetchOptions): typeof globalThis.fetch {
  if (options.dispatcher === undefined) globalDispatcher();
  const interceptor = laneInterceptor(options);
  const composed = new WeakMap<Dispatcher, Dispatcher>();
  const routing = (dispatcher: Dispatcher): Dispatcher => {
    let routed = composed.get(dispatcher);
    if (routed === undefined) {
      routed = dispatcher.compose(interceptor);
      composed.set(dispatcher, routed);
    }
    return routed;
  };

  return function laneFetch(input, init) {
    const fetch = options.fetch ?? globalThis.fetch;
    const dispatcher = init?.dispatcher ?? options.dispatcher ?? globalDispatcher();
    return fetch(input, { ...init, dispatcher: routing(dispatcher) });
  };
}

/**
 * Routes every request of the process's global undici dispatcher: the global `fetch`, and
 * `undici.request`/`fetch` without a `dispatcher` of their own, whoever calls them (libraries
 * included). Same behaviour as {@link createLaneFetch}, process-wide.
 *
 * @returns a function that restores the previous global dispatcher, unless it was replaced since.
 * @throws GraylaneError `GRAYLANE_ERR_CONFIG_INVALID` when the runtime has no global undici dispatcher.
 * @example
 * ```ts
 * const uninstall = installGlobalLaneDispatcher({ router: graylane.router, carriers: graylane.carriers });
 * await fetch('http://b/hello'); // routed
 * ```
 */
export function installGlobalLaneDispatcher(options: LaneInterceptorOptions): () => void {
  const previous = globalDispatcher();
  const routed = previous.compose(laneInterceptor(options));
  globalSlot[GLOBAL_DISPATCHER] = routed;
  return () => {
    if (globalSlot[GLOBAL_DISPATCHER] === routed) globalSlot[GLOBAL_DISPATCHER] = previous;
  };
}

/** Where undici, Node's bundled copy included, keeps the global dispatcher (undici's lib/global.js). */
const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');
const globalSlot = globalThis as unknown as Record<symbol, Dispatcher | undefined>;

function globalDispatcher(): Dispatcher {
  // Node creates it when it first loads its bundled undici, which reading one of fetch's classes does.
  if (globalSlot[GLOBAL_DISPATCHER] === undefined) void globalThis.Headers;
  const dispatcher = globalSlot[GLOBAL_DISPATCHER];
  if (dispatcher === undefined) {
    throw new GraylaneError(ErrorCode.CONFIG_INVALID, 'graylane fetch: no global undici dispatcher is reachable (under jest, the test realm is not the one Node\'s fetch uses); pass `dispatcher`, an undici Agent', {
      details: { path: 'dispatcher' },
    });
  }
  return dispatcher;
}
