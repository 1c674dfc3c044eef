import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { diag, trace } from '@opentelemetry/api';
import type { Span } from '@opentelemetry/api';
import { TRAIL_HEADER, getLane, getLaneTrail, injectLane, recordSelection } from '@graylane/context';
import type { CarrierOptions, LaneTrail } from '@graylane/context';
import { compileRetry, isConnectFailure } from '@graylane/router';
import type { LaneRouter, RetryOptions, Selection } from '@graylane/router';

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
  /**
   * Called with every selection, a retry's included, e.g. to log fallbacks. Errors it throws are
   * logged and ignored.
   */
  readonly onSelect?: (selection: Selection) => void;
  /**
   * Retries of a request whose connection to its instance cannot be made (refused, unreachable,
   * timed out), on another instance of the lane, then along its fallback chain. The agent connects
   * before the request writes anything, so the body never needs replaying; a connection reset
   * after that is not retried (the request object is the caller's). Default: up to 2 retries of
   * GET, HEAD, OPTIONS, PUT, DELETE and TRACE. `false` turns retries off.
   */
  readonly retry?: RetryOptions | false;
}

/**
 * Where a routed request's options carry the selection of its next instance, for
 * `createConnection` to call when a connection cannot be made; absent when the request is not
 * retried.
 */
export const NEXT_INSTANCE = Symbol('graylane.nextInstance');

/**
 * What `http.Agent#addRequest` receives from `ClientRequest`: the request options, with `host` the
 * host name and `port` resolved. Only the fields graylane reads or rewrites are named.
 */
export interface RequestTarget {
  host?: string | null;
  port?: number | string | null;
  /** @internal See {@link NEXT_INSTANCE}. */
  [NEXT_INSTANCE]?: () => Selection | undefined;
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
 * When the caller's request has a debug trail, the callee's trail header is added to it.
 */
export function laneRouting(options: LaneRoutingOptions): Route {
  const { router, carriers, onSelect } = options;
  const declared = new Set(options.services ?? []);
  const retry = compileRetry(options.retry);

  return (req, target, enqueue) => {
    const service = target.host;
    if (typeof service !== 'string' || !(router.knows(service) || declared.has(service))) return enqueue(target);

    // Read now: `http.request` calls the agent synchronously, in the caller's context.
    const lane = getLane();
    const span = trace.getActiveSpan();
    const trail = getLaneTrail();
    if (trail !== undefined) collectTrail(req, trail);
    writeCarriers(req, lane, carriers);
    router.selectAsync(service, lane).then(
      (selection) => {
        report(selection, span, 0, onSelect);
        const aimed: RequestTarget = { ...target, host: selection.instance.host, port: selection.instance.port };
        if (retry.allows(req.method)) {
          const attempts = retry.start(selection);
          aimed[NEXT_INSTANCE] = () => {
            const next = attempts.next(router);
            if (next !== undefined) report(next, span, attempts.retries, onSelect);
            return next;
          };
        }
        enqueue(aimed);
      },
      (error: Error) => fail(req, error),
    );
  };
}

/**
 * Connects with `create`, but hands the socket to `callback` only once it is connected. When the
 * connection cannot be made (or does not complete within the request's `timeout`) and `next`
 * selects another instance, connects there instead; otherwise fails with the error. A socket
 * connected to another instance than the one the agent pools it under is added to `moved`: the
 * agent must not keep it alive, or a later request would reuse it for the wrong instance.
 */
export function connectWithRetries(
  create: (target: RequestTarget) => Duplex,
  target: RequestTarget,
  next: () => Selection | undefined,
  callback: (error: Error | null, socket?: Duplex) => void,
  moved: WeakSet<Duplex>,
): void {
  const connect = (to: RequestTarget, retried: boolean): void => {
    const socket = create(to);
    const onConnect = (): void => {
      socket.off('error', onError).off('timeout', onTimeout);
      if (retried) moved.add(socket);
      callback(null, socket);
    };
    const onError = (error: Error): void => {
      socket.off('connect', onConnect).off('timeout', onTimeout);
      const selection = isConnectFailure(error) ? next() : undefined;
      if (selection === undefined) return callback(error);
      connect({ ...to, host: selection.instance.host, port: selection.instance.port }, true);
    };
    const onTimeout = (): void => {
      const error = Object.assign(new Error(`connect ETIMEDOUT ${String(to.host)}:${String(to.port)}`), { code: 'ETIMEDOUT', syscall: 'connect' });
      socket.destroy(error);
    };
    socket.once('connect', onConnect).once('error', onError).once('timeout', onTimeout);
  };
  connect(target, false);
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
 * Adds the trail header of `req`'s response to `trail`. Node dumps a response nobody listens for;
 * listening for it here would keep it, so when this listener is the only one it dumps it itself.
 */
function collectTrail(req: ClientRequest, trail: LaneTrail): void {
  req.prependOnceListener('response', (res: IncomingMessage) => {
    trail.add(res.headers[TRAIL_HEADER]);
    if (req.listenerCount('response') === 0) res.resume();
  });
}

/**
 * Fails a request that has no socket yet. `destroy(error)` would not emit the error before a socket
 * is assigned, so this does what `http.Agent` does when a connection cannot be made.
 */
function fail(req: ClientRequest, error: Error): void {
  (req as unknown as { onSocket(socket: undefined, error: Error): void }).onSocket(undefined, error);
}

function report(selection: Selection, span: Span | undefined, retries: number, onSelect: LaneRoutingOptions['onSelect']): void {
  if (span !== undefined) recordSelection(selection, span, retries);
  if (!onSelect) return;
  try {
    onSelect(selection);
  } catch (error) {
    diag.warn('graylane: onSelect threw; ignored', error);
  }
}
