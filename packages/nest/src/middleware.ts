import type { IncomingMessage, ServerResponse } from 'node:http';
import { context, diag } from '@opentelemetry/api';
import { extractLane, getLane, setLane } from '@graylane/context';
import type { CarrierOptions } from '@graylane/context';

/** Options of `GraylaneModule.forRoot`, or what the factory of `forRootAsync` resolves to. */
export interface GraylaneModuleOptions {
  /** Which lane carriers to read, and under which names; pass `graylane.carriers`. Defaults to graylane's defaults. */
  readonly carriers?: CarrierOptions;
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
 * instrumentation with graylane's propagator) is kept when the request carries none. A malformed
 * carrier never fails the request: it runs in the base lane.
 */
export function laneMiddleware(options: GraylaneModuleOptions): LaneMiddleware {
  const { carriers, onLane } = options;
  return function graylaneLane(req, _res, next) {
    const lane = extractLane(req.headers, carriers);
    const active = lane === undefined ? context.active() : setLane(context.active(), lane, carriers);
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
