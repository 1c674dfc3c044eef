import type { IncomingMessage, ServerResponse } from 'node:http';
import { context, diag } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import { extractLane, getLane, laneTrustFrom, setLane } from '@graylane/context';
import type { CarrierOptions, LaneTrust, LaneTrustOptions } from '@graylane/context';

/** Options of `GraylaneModule.forRoot`, or what the factory of `forRootAsync` resolves to. */
export interface GraylaneModuleOptions {
  /** Which lane carriers to read, and under which names; pass `graylane.carriers`. Defaults to graylane's defaults. */
  readonly carriers?: CarrierOptions;
  /**
   * Whether this application is an entry: one the outside world calls directly, with no graylane
   * gateway in front. Default `false`: an inner hop, which runs every request in the lane its
   * carriers name, since only other hops and the entry send it requests.
   *
   * An entry decides which clients may choose their lane: `true` trusts none, trusted networks and
   * lane token keys are given as a `LaneTrust` or its options (e.g. `{ trustedNetworks:
   * ['10.0.0.0/8'], tokens: { keys } }`). A request that may not choose its lane runs in base, and
   * its lane carriers are removed from its headers, so that the calls it makes carry no forged lane
   * either. See docs/guides/trust-boundary.md.
   */
  readonly entry?: boolean | LaneTrust | LaneTrustOptions;
  /**
   * Called once per request with the lane it runs in (`undefined` for base), after the carriers were
   * read. Handy for access logs and metrics; errors it throws are logged and ignored.
   */
  readonly onLane?: (lane: string | undefined, req: IncomingMessage) => void;
}

/** The `(req, res, next)` middleware both Nest platforms run (Express directly, Fastify through middie). */
type LaneMiddleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * Reads the request's lane from its carriers and runs the rest of the request in an OpenTelemetry
 * context holding it. A lane already in the active context (from OpenTelemetry's HTTP
 * instrumentation with graylane's propagator) is kept when the request carries none, except in an
 * entry, where the trust decision alone sets the lane. A malformed carrier never fails the request:
 * it runs in the base lane. Invalid `carriers` or `entry` options throw `GRAYLANE_ERR_CONFIG_INVALID`
 * here, when the application starts.
 */
export function laneMiddleware(options: GraylaneModuleOptions): LaneMiddleware {
  const { carriers, onLane, entry = false } = options;
  const trust = entry === false ? undefined : laneTrustFrom(entry === true ? 'none' : entry, carriers);
  return function graylaneLane(req, _res, next) {
    let active: Context;
    if (trust !== undefined) {
      active = setLane(context.active(), trust.admit(req.headers, req.socket?.remoteAddress).lane, carriers);
    } else {
      const lane = extractLane(req.headers, carriers);
      active = lane === undefined ? context.active() : setLane(context.active(), lane, carriers);
    }
    if (onLane) {
      try {
        onLane(getLane(active), req);
      } catch (error) {
        diag.warn('graylane: onLane threw; ignored', error);
      }
    }
    context.with(active, next);
  };
}
