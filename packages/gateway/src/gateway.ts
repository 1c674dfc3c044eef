import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { context, diag } from '@opentelemetry/api';
import { ErrorCode, GraylaneError, isGraylaneError, laneLabel } from '@graylane/core';
import { TRAIL_HEADER, createEntryDecision, createLaneTrail, setLane } from '@graylane/context';
import type { Carriers, EntryRules, LaneDecidedBy, LaneTrustSetting, TrailHop } from '@graylane/context';
import { requestViewFromNode } from '@graylane/matcher';
import type { LaneMatcher } from '@graylane/matcher';
import type { LaneRouter, Selection } from '@graylane/router';
import { NO_RETRIES, compileRetry, isConnectFailure, isConnectionReset } from '@graylane/outbound';
import type { RetryOptions } from '@graylane/outbound';
import { DEFAULT_HEADER_BUDGET, fitHeaderBudget } from './budget.js';
import { addForwardedHeaders, endToEndHeaders } from './proxy.js';

/** See {@link GatewayOptions.idleSocketTimeoutMs}. */
const DEFAULT_IDLE_SOCKET_TIMEOUT_MS = 4_000;

/**
 * How the gateway decided a request's lane: a signed lane token, the carriers of a trusted client,
 * a rule, or nothing (base).
 */
export type LaneDecision = LaneDecidedBy;

/** What the gateway did with one request; passed to {@link GatewayOptions.onRoute}. */
export interface RouteInfo {
  readonly lane: string | undefined;
  readonly decidedBy: LaneDecision;
  readonly selection: Selection;
}

/** Options of {@link createGateway}. */
export interface GatewayOptions {
  /** Picks upstream instances; usually `graylane.router` from `@graylane/node`. */
  readonly router: LaneRouter;
  /** The service every request goes to, or a function choosing it per request (`undefined` → 404). */
  readonly upstream: string | ((req: IncomingMessage) => string | undefined);
  /**
   * The entry's rules: decide the lane of requests that bring no trusted lane, a compiled
   * `LaneMatcher` or a function of the request (as an entry service's `rules`). Without them, such
   * requests go to base. Rules that throw are logged and give base.
   */
  readonly rules?: LaneMatcher | EntryRules<IncomingMessage>;
  /** @deprecated Use {@link GatewayOptions.rules}, which takes the same matcher. Ignored when `rules` is set. */
  readonly matcher?: LaneMatcher;
  /** Which lane carriers to read and write, and under which names: `graylane.carriers`, or `createCarriers(...)`. */
  readonly carriers?: Carriers | undefined;
  /**
   * Which clients may choose their lane (`x-mse-tag`, baggage, a signed lane token) rather than
   * leave it to the rules: `'none'` (the default: every carried lane is stripped), `'all'` (for a
   * gateway behind another graylane entry), or trusted networks and token keys as a `LaneTrust` or
   * its options, e.g. `{ trustedNetworks: ['10.0.0.0/8'], tokens: { keys } }`. See
   * docs/guides/trust-boundary.md.
   */
  readonly trust?: LaneTrustSetting;
  /**
   * Bytes the headers of a forwarded request may take, the upstream's header limit (as Node counts
   * its `maxHeaderSize`, without the request line): when the gateway's own headers would push a
   * request over it, the optional ones (`x-forwarded-host`, `x-forwarded-proto`) are left out; a
   * request over it even without them is answered 431 here. Default 16 384, Node's `maxHeaderSize`.
   */
  readonly headerBudget?: number;
  /** Milliseconds to wait for the upstream's response headers before answering 504. Default 30 000. */
  readonly timeoutMs?: number;
  /**
   * The agent for upstream connections. Default: a keep-alive agent owned by the gateway, which
   * closes a connection idle for {@link GatewayOptions.idleSocketTimeoutMs}.
   */
  readonly agent?: http.Agent;
  /**
   * Milliseconds after which the gateway's own agent closes an idle upstream connection. Default
   * 4 000: below Node's default server `keepAliveTimeout` (5 s), so the gateway retires a
   * connection before the upstream does; an upstream's `Keep-Alive: timeout=N` answer header lowers
   * it further for that connection. Set it below your upstreams' idle timeout (nginx: 75 s).
   */
  readonly idleSocketTimeoutMs?: number;
  /**
   * Retries of a request that failed before any response byte: a refused connect (any method), or
   * a connection reset (typically a kept-alive connection the upstream closed as it was reused;
   * idempotent methods only by default). Each retry goes to another instance of the lane, then along
   * its fallback chain to base, as the outbound adapters do. Only requests without a body are
   * retried. Default: 2 attempts after the first; `false` turns retries off.
   */
  readonly retry?: RetryOptions | false;
  /** Called for every routed request, e.g. for access logs. Errors it throws are logged and ignored. */
  readonly onRoute?: (info: RouteInfo, req: IncomingMessage) => void;
  /**
   * Turns the debug trail on: each proxied response gets an `x-graylane-trail` header listing the
   * gateway (`gateway[base]@127.0.0.1:8080`; the address defaults to the one the request arrived
   * at) and then the upstream's trail. Off by default; see docs/guides/debugging.md.
   */
  readonly trail?: TrailHop;
}

/** A lane-aware entry gateway; see {@link createGateway}. */
export interface Gateway {
  /** The request handler, to mount in a server of your own. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** The gateway's own HTTP server (not listening until {@link Gateway.listen}). */
  readonly server: http.Server;
  /** Replaces the rules matcher, e.g. after a rule update. */
  setMatcher(matcher: LaneMatcher | undefined): void;
  /** Starts listening; resolves with the bound address. */
  listen(port: number, host?: string): Promise<AddressInfo>;
  /** Stops accepting connections and closes idle ones; resolves when the server is closed. */
  close(): Promise<void>;
}

/**
 * Creates the lane-aware entry gateway. For each request it decides the lane once (the lane of a
 * valid lane token, or the lane carried by a client in a trusted network; else the first matching
 * rule; else base), picks an instance of the upstream service in that lane (or along the lane's
 * fallback chain to base), replaces the request's lane carriers with that lane, and forwards it.
 * By default no client is trusted: a lane sent from outside never reaches a lane's instances
 * unless a rule puts the request there.
 *
 * Throws `GRAYLANE_ERR_CONFIG_INVALID` for invalid `carriers` or `trust`.
 *
 * Errors reach the client as JSON `{ error: { code, message, ... } }`: 503 when no instance
 * qualifies (`GRAYLANE_ERR_NO_INSTANCE`, `GRAYLANE_ERR_STRICT_LANE`, `GRAYLANE_ERR_NOT_READY`),
 * 502 when the upstream cannot be reached, 504 when it does not answer in time.
 */
export function createGateway(options: GatewayOptions): Gateway {
  const { router, carriers, onRoute, trail } = options;
  const entry = createEntryDecision<IncomingMessage>({ trust: options.trust ?? 'none', rules: rulesOf(options.rules ?? options.matcher), carriers });
  const timeoutMs = options.timeoutMs ?? 30_000;
  const headerBudget = options.headerBudget ?? DEFAULT_HEADER_BUDGET;
  if (!Number.isInteger(headerBudget) || headerBudget < 1024) {
    throw new GraylaneError(ErrorCode.CONFIG_INVALID, `gateway headerBudget: must be an integer of at least 1024 bytes, got ${String(options.headerBudget)}`, {
      details: { path: 'headerBudget' },
    });
  }
  const ownAgent = options.agent === undefined;
  const agent = options.agent ?? new http.Agent({ keepAlive: true, maxSockets: 256, timeout: idleTimeout(options.idleSocketTimeoutMs) });
  const retry = compileRetry(options.retry);
  const upstreamOf = typeof options.upstream === 'string' ? constant(options.upstream) : options.upstream;


  function handler(req: IncomingMessage, res: ServerResponse): void {
    let service: string | undefined;
    let decision: { lane: string | undefined; decidedBy: LaneDecision } = { lane: undefined, decidedBy: 'none' };
    let selection: Selection;
    const headers = endToEndHeaders(req.headers);
    try {
      service = upstreamOf(req);
      if (service === undefined) {
        sendError(res, 404, new GraylaneError(ErrorCode.NO_INSTANCE, `no upstream service for ${req.method} ${req.url}`));
        return;
      }
      // The entry decision: `headers`, the copy to forward, carries the decided lane and nothing else.
      decision = entry.decide(req, headers, req.socket.remoteAddress, true);
      selection = router.select(service, decision.lane);
    } catch (error) {
      respondToRoutingError(res, error, service, decision.lane);
      return;
    }
    if (onRoute) {
      try {
        onRoute({ ...decision, selection }, req);
      } catch (error) {
        diag.warn('graylane gateway: onRoute threw; ignored', error);
      }
    }
    context.with(setLane(context.active(), decision.lane), () => forward(req, res, headers, selection, decision.lane));
  }

  function forward(req: IncomingMessage, res: ServerResponse, headers: IncomingHttpHeaders, selection: Selection, lane: string | undefined): void {
    const optional = OPTIONAL_ADDED.filter((name) => headers[name] === undefined);
    addForwardedHeaders(headers, {
      address: req.socket.remoteAddress,
      host: req.headers.host,
      encrypted: 'encrypted' in req.socket && Boolean(req.socket.encrypted),
    });
    if (!withinHeaderBudget(req, res, headers, optional, selection)) return;
    // Only a request without a body can be sent again: a streamed body is gone once sent.
    const replayable = !hasBody(req);
    // A request with a body is never retried, but the router still hears of each outcome when it ejects outliers.
    const attempts = replayable ? retry.start(selection) : router.ejectsOutliers() ? NO_RETRIES.start(selection) : undefined;
    const resetRetried = replayable && retry.allows(req.method);
    let renewed = false;
    /** An attempt was reset after its connection was made: something reached an instance (ADR 0005). */
    let reached = false;
    if (replayable) req.resume();
    send(selection, agent);

    /** Sends the request to `target` through `through` (`false`: a connection of its own). */
    function send(target: Selection, through: http.Agent | false): void {
      const { host, port } = target.instance;
      headers.host = `${host.includes(':') ? `[${host}]` : host}:${port}`;
      const upstream = http.request({ host, port, method: req.method, path: req.url, headers, agent: through });
      let answered = false;
      upstream.setTimeout(timeoutMs, () => {
        upstream.destroy(new GraylaneError(ErrorCode.UPSTREAM, `upstream ${target.service} at ${host}:${port} did not answer within ${timeoutMs} ms`, { details: { timeout: true } }));
      });
      upstream.on('response', (answer) => {
        answered = true;
        if (attempts !== undefined) router.reportSuccess(target.instance);
        upstream.setTimeout(0);
        const answerHeaders = endToEndHeaders(answer.headers);
        if (trail !== undefined) {
          const trailed = createLaneTrail(trail, req.socket);
          trailed.add(answer.headers[TRAIL_HEADER]);
          answerHeaders[TRAIL_HEADER] = trailed.toString();
        }
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answerHeaders);
        answer.pipe(res);
        answer.on('error', () => res.destroy());
      });
      upstream.on('error', (error) => {
        if (res.headersSent || res.destroyed) {
          res.destroy();
          return;
        }
        const connectFailed = isConnectFailure(error);
        const reset = !connectFailed && isConnectionReset(error);
        // A kept-alive connection the upstream closed just as it was reused says nothing about the
        // instance: send once more to the same instance, on a connection of its own.
        if (!answered && resetRetried && reset && upstream.reusedSocket && !renewed) {
          renewed = true;
          diag.debug(`graylane gateway: a reused connection to ${host}:${port} was closed before answering; sending again on a new one`);
          send(target, false);
          return;
        }
        if (reset) reached = true;
        // Nothing of a response arrived: a refused connect, or a reset on a new connection, goes
        // to another instance of the lane, then along its fallback chain, as the outbound adapters do.
        if (!answered && attempts !== undefined && (connectFailed || (resetRetried && reset))) {
          const next = attempts.next(router, connectFailed ? 'connect-failed' : 'reset');
          if (next !== undefined) {
            diag.debug(`graylane gateway: ${target.service} at ${host}:${port} failed before answering (${error.message}); retrying at ${next.instance.host}:${next.instance.port}`);
            send(next, agent);
            return;
          }
          // The typed 503 only when no attempt reached an instance, as the outbound adapters answer.
          const none = connectFailed && !reached ? attempts.unreachable(router, error) : undefined;
          if (none !== undefined) {
            sendError(res, 503, none);
            return;
          }
        } else if (!answered && attempts !== undefined && reset) {
          router.reportFailure(target.instance, 'reset'); // not retried (a body, or a method not retried), still counted
        }
        const timedOut = isGraylaneError(error) && error.details['timeout'] === true;
        sendError(
          res,
          timedOut ? 504 : 502,
          isGraylaneError(error)
            ? error
            : new GraylaneError(ErrorCode.UPSTREAM, `could not reach ${target.service} at ${host}:${port}: ${error.message}`, {
                cause: error,
                details: { service: target.service, lane: laneLabel(lane), address: `${host}:${port}` },
              }),
        );
      });
      res.on('close', () => {
        if (!res.writableFinished) upstream.destroy();
      });
      if (replayable) upstream.end();
      else req.pipe(upstream);
    }
  }

  /**
   * Leaves out the optional headers the gateway added while the forwarded head is over
   * `headerBudget`; answers 431 and returns false when it is over even without them.
   */
  function withinHeaderBudget(req: IncomingMessage, res: ServerResponse, headers: IncomingHttpHeaders, optional: readonly string[], selection: Selection): boolean {
    const { host, port } = selection.instance;
    headers.host = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    const headBytes = fitHeaderBudget(headers, optional, headerBudget);
    if (headBytes <= headerBudget) return true;
    sendError(
      res,
      431,
      new GraylaneError(ErrorCode.UPSTREAM, `the request's headers take ${headBytes} bytes, over the ${headerBudget}-byte header budget of ${selection.service}`, {
        details: { path: 'headerBudget', service: selection.service, headerBytes: headBytes, headerBudget },
      }),
    );
    return false;
  }

  const server = http.createServer(handler);
  return {
    handler,
    server,
    setMatcher(next) {
      entry.setRules(rulesOf(next));
    },
    listen(port, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        if (ownAgent) agent.destroy();
      });
    },
  };
}

/** Headers the gateway adds that may be left out to keep a request within its header budget. */
const OPTIONAL_ADDED = ['x-forwarded-host', 'x-forwarded-proto'] as const;

function idleTimeout(value: number | undefined): number {
  if (value === undefined) return DEFAULT_IDLE_SOCKET_TIMEOUT_MS;
  if (!(Number.isFinite(value) && value > 0)) {
    throw new GraylaneError(ErrorCode.CONFIG_INVALID, `idleSocketTimeoutMs must be a positive number of milliseconds, got ${String(value)}`, {
      details: { path: 'idleSocketTimeoutMs', value },
    });
  }
  return value;
}

/** True when `req` has a body (RFC 9112 section 6.3): a `transfer-encoding`, or a non-zero `content-length`. */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** The gateway's matcher as the entry's rules: they see the request as the client sent it. */
function rulesOf(rules: LaneMatcher | EntryRules<IncomingMessage> | undefined): EntryRules<IncomingMessage> | undefined {
  if (rules === undefined || typeof rules === 'function') return rules;
  return (req) => rules.match(requestViewFromNode(req));
}

function constant(service: string): () => string {
  return () => service;
}

function respondToRoutingError(res: ServerResponse, error: unknown, service: string | undefined, lane: string | undefined): void {
  if (isGraylaneError(error)) {
    sendError(res, 503, error);
    return;
  }
  diag.error('graylane gateway: unexpected routing failure', error);
  sendError(
    res,
    500,
    new GraylaneError(ErrorCode.UPSTREAM, `routing ${service ?? 'the request'} in lane ${laneLabel(lane)} failed unexpectedly`, { cause: error }),
  );
}

function sendError(res: ServerResponse, status: number, error: GraylaneError): void {
  const body = JSON.stringify({ error: { code: error.code, message: error.message, ...error.details } });
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
