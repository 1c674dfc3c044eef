import type { ClientRequest, IncomingMessage, OutgoingHttpHeader } from 'node:http';
import type { Duplex } from 'node:stream';
import { diag } from '@opentelemetry/api';
import { TRAIL_HEADER } from '@graylane/context';
import type { LaneTrail } from '@graylane/context';
import { createOutbound } from '@graylane/outbound';
import type { HeaderAccess, OutboundCall, OutboundOptions, RetryOptions } from '@graylane/outbound';

/**
 * How a lane agent routes; shared by {@link LaneAgent} and {@link LaneHttpsAgent}: graylane's
 * outbound options (see `OutboundOptions` in `@graylane/outbound`).
 */
export interface LaneRoutingOptions extends OutboundOptions {
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
 * Where a routed request's options carry its call, for `createConnection` to ask for the next
 * instance when a connection cannot be made; absent when the request is not retried.
 */
export const RETRIED_CALL = Symbol('graylane.retriedCall');

/**
 * What `http.Agent#addRequest` receives from `ClientRequest`: the request options, with `host` the
 * host name and `port` resolved. Only the fields graylane reads or rewrites are named.
 */
export interface RequestTarget {
  host?: string | null;
  port?: number | string | null;
  /** @internal See {@link RETRIED_CALL}. */
  [RETRIED_CALL]?: Retrier;
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
  // The agent connects before the request writes: a reset comes after, and is the caller's request's.
  const outbound = createOutbound(options, { retriesResets: false });

  return (req, target, enqueue) => {
    const service = target.host;
    if (!outbound.routes(service)) return enqueue(target);

    // Started now: `http.request` calls the agent synchronously, in the caller's context.
    const call = outbound.start(service);
    if (call.trail !== undefined) collectTrail(req, call.trail);
    if (req.headersSent) {
      diag.warn(`graylane: the headers of a request to ${req.host} were already serialised (given as an array?); lane carriers not written`);
    } else call.inject(req, REQUEST_HEADERS);
    call.select().then(
      (selection) => {
        const aimed: RequestTarget = { ...target, host: selection.instance.host, port: selection.instance.port };
        if (call.selected(selection, req.method)) aimed[RETRIED_CALL] = call;
        enqueue(aimed);
      },
      (error: Error) => fail(req, error),
    );
  };
}

/** What {@link connectWithRetries} asks for the next instance, and tells of a connection made: an {@link OutboundCall} whose attempts are watched. */
export type Retrier = Pick<OutboundCall, 'retryAfter' | 'failure' | 'answered'>;

/**
 * Connects with `create`, but hands the socket to `callback` only once it is connected. When the
 * connection cannot be made (or does not complete within the request's `timeout`) and `call`
 * selects another instance for the error, connects there instead; otherwise fails with the error. A socket
 * connected to another instance than the one the agent pools it under is added to `moved`: the
 * agent must not keep it alive, or a later request would reuse it for the wrong instance.
 */
export function connectWithRetries(
  create: (target: RequestTarget) => Duplex,
  target: RequestTarget,
  call: Retrier,
  callback: (error: Error | null, socket?: Duplex) => void,
  moved: WeakSet<Duplex>,
): void {
  const connect = (to: RequestTarget, retried: boolean): void => {
    const socket = create(to);
    const onConnect = (): void => {
      socket.off('error', onError).off('timeout', onTimeout);
      call.answered(); // a connection made: what counts for this client, which sees no responses
      if (retried) moved.add(socket);
      callback(null, socket);
    };
    const onError = (error: Error): void => {
      socket.off('connect', onConnect).off('timeout', onTimeout);
      const selection = call.retryAfter(error);
      if (selection === undefined) return callback(call.failure(error) as Error);
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
 * A `ClientRequest`'s headers, for the outbound core: Node matches names case-insensitively. Headers
 * given to `http.request` as an array (or with `Expect`) are already serialised; the request is then
 * routed without carriers, with a diagnostic.
 */
const REQUEST_HEADERS: HeaderAccess<ClientRequest> = {
  get(req, name) {
    const value: OutgoingHttpHeader | undefined = req.getHeader(name);
    return typeof value === 'number' ? undefined : value;
  },
  set: (req, name, value) => void req.setHeader(name, value),
  delete: (req, name) => req.removeHeader(name),
};

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
