import type { IncomingMessage, ServerResponse } from 'node:http';
import { context } from '@opentelemetry/api';
import { createInboundLane } from '@graylane/context';
import type { InboundLaneOptions } from '@graylane/context';

/**
 * Options of `GraylaneModule.forRoot`, or what the factory of `forRootAsync` resolves to: `carriers`
 * (which lane carriers to read; pass `graylane.carriers`), `trust` (set it when this application is
 * an entry, to decide which clients may choose their lane; unset, an inner hop that takes the lane
 * its callers send; see docs/guides/trust-boundary.md), `rules` (at an entry, the lane of a request
 * that brings no trusted one) and `onLane` (called once per request with its lane). `entry` and
 * `laneFor` are the deprecated names of `trust` and `rules`.
 */
export type GraylaneModuleOptions = InboundLaneOptions<IncomingMessage>;

/** The `(req, res, next)` middleware both Nest platforms run (Express directly, Fastify through middie). */
type LaneMiddleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * Reads the request's lane from its carriers and runs the rest of the request in an OpenTelemetry
 * context holding it. A lane already in the active context (from OpenTelemetry's HTTP
 * instrumentation with graylane's propagator) is kept when the request carries none, except in an
 * entry, where the trust decision alone sets the lane. A malformed carrier never fails the request:
 * it runs in the base lane. Invalid `carriers` or `trust` options throw `GRAYLANE_ERR_CONFIG_INVALID`
 * here, when the application starts.
 */
export function laneMiddleware(options: GraylaneModuleOptions): LaneMiddleware {
  const inboundLane = createInboundLane(options);
  return function graylaneLane(req, res, next) {
    context.with(inboundLane(req, res), next);
  };
}
