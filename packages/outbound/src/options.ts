import type { Carriers } from '@graylane/context';
import type { LaneRouter, Selection } from '@graylane/router';
import type { RetryOptions } from './retry.js';

/**
 * The options every outbound adapter takes (`attachLaneRouting` in `@graylane/axios`,
 * `laneInterceptor` and `createLaneFetch` in `@graylane/fetch`, `LaneAgent` and `LaneHttpsAgent` in
 * `@graylane/http`): which router picks the callee instances, which carriers are written, which
 * hosts are services, who hears of each selection, and how calls that cannot reach their instance
 * are retried. An adapter's own options extend this type; each says there what a retry means for
 * its client.
 */
export interface OutboundOptions {
  /** The router that picks callee instances; usually `graylane.router` from `@graylane/node`. */
  readonly router: LaneRouter;
  /**
   * Which lane carriers to write, and under which names: `graylane.carriers`, or a value of
   * `createCarriers(...)` from `@graylane/context`. Defaults to graylane's defaults.
   */
  readonly carriers?: Carriers | undefined;
  /**
   * Host names that are services even before the router knows them (it then waits for their first
   * instance list). A request to any other host the router does not know passes through untouched,
   * and no lane carrier is sent to it.
   */
  readonly services?: readonly string[] | undefined;
  /**
   * Called with every selection, a retry's included, e.g. to log fallbacks. Errors it throws are
   * logged and ignored.
   */
  readonly onSelect?: ((selection: Selection) => void) | undefined;
  /**
   * Retries of a call whose instance could not be reached on another instance of the lane, then
   * along its fallback chain. Default: up to 2 retries of GET, HEAD, OPTIONS, PUT, DELETE and TRACE.
   * `false` turns retries off. What "could not be reached" covers (a refused connection only, or a
   * reset before any response byte too) and which bodies can be sent again depends on the client;
   * each adapter's options say.
   */
  readonly retry?: RetryOptions | false | undefined;
}
