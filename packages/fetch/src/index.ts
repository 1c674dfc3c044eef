/**
 * @graylane/fetch: lane routing for the global `fetch` and undici. An undici interceptor sends
 * requests to service-name URLs (`http://b/...`) to an instance in the caller's lane and writes the
 * lane carriers; everything else passes through untouched.
 *
 * @packageDocumentation
 */
export { createLaneFetch, installGlobalLaneDispatcher } from './fetch.js';
export type { LaneFetchOptions } from './fetch.js';
export { laneInterceptor } from './interceptor.js';
export type { LaneInterceptorOptions } from './interceptor.js';
