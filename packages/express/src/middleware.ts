import type { IncomingMessage, ServerResponse } from 'node:http';
import { context, diag } from '@opentelemetry/api';
import { extractLane, getLane, setLane } from '@graylane/context';
import type { CarrierOptions } from '@graylane/context';

/** Options of {@link graylaneMiddleware}. */
export interface GraylaneMiddlewareOptions {
  /** Which lane carriers to read, and under which names. Defaults to graylane's defaults. */
  readonly carriers?: CarrierOptions;
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
 * graylane's propagator) is kept when the request carries none. A malformed carrier never fails the
 * request: it is ignored with a diagnostic and the request runs in the base lane.
 *
 * @example
 * ```ts
 * app.use(graylaneMiddleware());
 * ```
 */
export function graylaneMiddleware(options: GraylaneMiddlewareOptions = {}): LaneMiddleware {
  const { carriers, onLane } = options;
  return function graylane(req, _res, next) {
    let active = context.active();
    try {
      const lane = extractLane(req.headers, carriers);
      if (lane !== undefined) active = setLane(active, lane);
      if (onLane) onLane(lane ?? getLane(active), req);
    } catch (error) {
      diag.warn('graylane: could not read the lane of an inbound request; it runs in the base lane', error);
    }
    context.with(active, next);
  };
}
