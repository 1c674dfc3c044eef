import type { ClientRequest } from 'node:http';
import { diag } from '@opentelemetry/api';
import { getLane, injectLane } from '@graylane/context';
import type { CarrierOptions } from '@graylane/context';
import type { LaneRouter, Selection } from '@graylane/router';

/** How a lane agent routes; shared by {@link LaneAgent} and {@link LaneHttpsAgent}. */
export interface LaneRoutingOptions {
  /** The router that picks callee instances; usually `graylane.router` from `@graylane/node`. */
  readonly router: LaneRouter;
  /** Which lane carriers to write, and under which names. Defaults to graylane's defaults. */
  readonly carriers?: CarrierOptions;
  /**
   * Host names that are services even before the router knows them (it then waits for their first
   * instance list). A request to any other host the router does not know passes through untouched,
   * and no lane carrier is sent to it.
   */
  readonly services?: readonly string[];
  /** Called with every selection, e.g. to log fallbacks. Errors it throws are logged and ignored. */
  readonly onSelect?: (selection: Selection) => void;
}

/**
 * What `http.Agent#addRequest` receives from `ClientRequest`: the request options, with `host` the
 * host name and `port` resolved. Only the fields graylane reads or rewrites are named.
 */
export interface RequestTarget {
  host?: string | null;
  port?: number | string | null;
  readonly [option: string]: unknown;
}

/** Hands a request, aimed at `target`, to the agent's own queueing. */
export type Enqueue = (target: RequestTarget) => void;

/** Routes one request of an agent; see {@link laneRouting}. */
export type Route = (req: ClientRequest, target: RequestTarget, enqueue: Enqueue) => void;

/**
 * What an agent does with each new request. A request to a service host gets the caller's lane
 * carriers, then is enqueued aimed at the instance selected for that lane, which also keys the
 * agent's socket pool by instance. Any other request is enqueued as it is. A routing failure fails
 * the request the way a connection failure does: an `error` event with graylane's typed error.
 */
export function laneRouting(options: LaneRoutingOptions): Route {
  const { router, carriers, onSelect } = options;
  const declared = new Set(options.services ?? []);

  return (req, target, enqueue) => {
    const service = target.host;
    if (typeof service !== 'string' || !(router.knows(service) || declared.has(service))) return enqueue(target);

    // Read now: `http.request` calls the agent synchronously, in the caller's context.
    const lane = getLane();
    writeCarriers(req, lane, carriers);
    router.selectAsync(service, lane).then(
      (selection) => {
        report(selection, onSelect);
        enqueue({ ...target, host: selection.instance.host, port: selection.instance.port });
      },
      (error: Error) => fail(req, error),
    );
  };
}

/**
 * Writes the lane carriers into the request's headers, merging an existing `baggage`, removing stale
 * carriers for the base lane. Headers given to `http.request` as an array (or with `Expect`) are
 * already serialised; the request is then routed without carriers, with a diagnostic.
 */
function writeCarriers(req: ClientRequest, lane: string | undefined, carriers: CarrierOptions | undefined): void {
  if (req.headersSent) {
    diag.warn(`graylane: the headers of a request to ${req.host} were already serialised (given as an array?); lane carriers not written`);
    return;
  }
  const before = req.getHeaders();
  const after: Record<string, unknown> = { ...before };
  injectLane(after, lane, carriers);
  for (const name in before) if (after[name] === undefined) req.removeHeader(name);
  for (const name in after) if (after[name] !== before[name]) req.setHeader(name, after[name] as string | string[]);
}

/**
 * Fails a request that has no socket yet. `destroy(error)` would not emit the error before a socket
 * is assigned, so this does what `http.Agent` does when a connection cannot be made.
 */
function fail(req: ClientRequest, error: Error): void {
  (req as unknown as { onSocket(socket: undefined, error: Error): void }).onSocket(undefined, error);
}

function report(selection: Selection, onSelect: ((selection: Selection) => void) | undefined): void {
  if (!onSelect) return;
  try {
    onSelect(selection);
  } catch (error) {
    diag.warn('graylane: onSelect threw; ignored', error);
  }
}
