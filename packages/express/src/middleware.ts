import type { IncomingMessage, ServerResponse } from 'node:http';
import { context } from '@opentelemetry/api';
import { createInboundLane } from '@graylane/context';
import type { InboundLaneOptions } from '@graylane/context';

/**
 * Options of {@link graylaneMiddleware}: `carriers` (which lane carriers to read), `entry` (whether
 * this service is an entry that decides which clients may choose their lane; default `false`, an
 * inner hop; see docs/guides/trust-boundary.md) and `onLane` (called once per request with its lane).
 */
export type GraylaneMiddlewareOptions = InboundLaneOptions<IncomingMessage>;

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
  const inboundLane = createInboundLane(options);
  return function graylane(req, res, next) {
    context.with(inboundLane(req, res), next);
  };
}
