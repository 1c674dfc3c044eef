import type { IncomingMessage, ServerResponse } from 'node:http';
import { context, diag } from '@opentelemetry/api';
import { extractLane, getLane, laneTrustFrom, setLane } from '@graylane/context';
import type { CarrierOptions, LaneTrust, LaneTrustOptions } from '@graylane/context';

/** Options of {@link graylaneMiddleware}. */
export interface GraylaneMiddlewareOptions {
  /** Which lane carriers to read, and under which names. Defaults to graylane's defaults. */
  readonly carriers?: CarrierOptions;
  /**
   * Whether this service is an entry: one the outside world calls directly, with no graylane
   * gateway in front. Default `false`: an inner hop, which runs every request in the lane its
   * carriers name, since only other hops and the entry send it requests.
   *
   * An entry decides which clients may choose their lane: `true` trusts none, trusted networks and
   * lane token keys are given as a `LaneTrust` or its options (e.g. `{ trustedNetworks:
   * ['10.0.0.0/8'], tokens: { keys } }`). A request that may not choose its lane runs in base, and
   * its lane carriers are removed from `req.headers`, so that the calls it makes carry no forged lane
   * either. See docs/guides/trust-boundary.md.
   */
  readonly entry?: boolean | LaneTrust | LaneTrustOptions;
  /**
   * Called once per request with the lane the request runs in (`undefined` for base), after the
   * carriers were read. Handy for access logs and metrics; errors it throws are logged and ignored.
   */
  readonly onLane?: (lane: string | undefined, req: IncomingMessage) => void;
}

/** The `(req, res, next)` shape shared by Express 4, Express 5 and Connect. */
export type LaneMiddleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/**
 * Express (and Connect) middleware that reads the request's lane from its carriers (`x-mse-tag`,
 * W3C baggage, ...) and runs the rest of the chain in an OpenTelemetry context holding that lane, so
 * every outbound call made while handling the request, across any `await`, stays in the lane.
 *
 * A lane already in the active context (put there by OpenTelemetry's HTTP instrumentation with
 * graylane's propagator) is kept when the request carries none, except in an {@link
 * GraylaneMiddlewareOptions.entry | entry}, where the trust decision alone sets the lane. A malformed
 * carrier never fails the request: it is ignored with a diagnostic and the request runs in the base
 * lane. Invalid `carriers` or `entry` options throw `GRAYLANE_ERR_CONFIG_INVALID` here, at start-up.
 *
 * @example
 * ```ts
 * app.use(graylaneMiddleware());
 * ```
 */
export function graylaneMiddleware(options: GraylaneMiddlewareOptions = {}): LaneMiddleware {
  const { carriers, onLane, entry = false } = options;
  const trust = entry === false ? undefined : laneTrustFrom(entry === true ? 'none' : entry, carriers);
  return function graylane(req, _res, next) {
    let active = context.active();
    try {
      if (trust !== undefined) {
        active = setLane(active, trust.admit(req.headers, req.socket?.remoteAddress).lane, carriers);
      } else {
        const lane = extractLane(req.headers, carriers);
        if (lane !== undefined) active = setLane(active, lane);
      }
      if (onLane) onLane(getLane(active), req);
    } catch (error) {
      diag.warn('graylane: could not read the lane of an inbound request; it runs in the base lane', error);
    }
    context.with(active, next);
  };
}
