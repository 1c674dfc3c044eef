import http from 'node:http';
import type { ClientRequest, ClientRequestArgs } from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { NEXT_INSTANCE, connectWithRetries, laneRouting } from './routing.js';
import type { LaneRoutingOptions, RequestTarget, Route } from './routing.js';

/** Options of {@link LaneAgent}: `http.Agent`'s (`keepAlive`, `maxSockets`, ...) and graylane's routing. */
export interface LaneAgentOptions extends http.AgentOptions, LaneRoutingOptions {}

/** Options of {@link LaneHttpsAgent}: `https.Agent`'s (`ca`, `keepAlive`, ...) and graylane's routing. */
export interface LaneHttpsAgentOptions extends https.AgentOptions, LaneRoutingOptions {}

/** `http.Agent#addRequest`: how Node hands an agent each new request. Agents override it; @types/node does not declare it. */
type AddRequest = (this: http.Agent, req: ClientRequest, options: RequestTarget) => void;

/** The callback of `createConnection`, as Node passes it. */
type Connected = (error: Error | null, socket?: Duplex) => void;

/** `keepSocketAlive`'s result: Node reads it (falsy: destroy the socket); @types/node types it `void`. */
const keepAlive = (result: void): boolean => (result as unknown as boolean | undefined) === true;

const httpAddRequest = (http.Agent.prototype as unknown as { addRequest: AddRequest }).addRequest;
const httpsAddRequest = (https.Agent.prototype as unknown as { addRequest: AddRequest }).addRequest;

/**
 * An `http.Agent` that routes requests to service hosts (`http://b/hello`) in the caller's lane: it
 * writes the lane carriers (`x-mse-tag`, baggage, ...) and connects to an instance of the service in
 * that lane, or along the lane's fallback chain to base. Sockets are pooled per instance. The
 * request keeps `Host: b`. Requests to other hosts pass through untouched, without lane carriers.
 *
 * Works with anything built on `node:http` that takes an agent (`http.request`, got, node-fetch 2,
 * axios's `httpAgent`, ...). When no instance qualifies, the request emits `error` with graylane's
 * typed error (`GRAYLANE_ERR_NO_INSTANCE` or `GRAYLANE_ERR_STRICT_LANE`). When the connection to
 * the instance cannot be made, an idempotent request connects to the next one (see
 * {@link LaneRoutingOptions.retry}). Each selection is recorded on the active span (`graylane.*`).
 *
 * @throws GraylaneError `GRAYLANE_ERR_CONFIG_INVALID` when `retry` is invalid.
 *
 * @example
 * ```ts
 * const agent = new LaneAgent({ router: graylane.router, carriers: graylane.carriers, keepAlive: true });
 * http.get('http://b/hello', { agent }, (res) => { ... });
 * ```
 */
export class LaneAgent extends http.Agent {
  readonly #route: Route;
  readonly #moved = new WeakSet<Duplex>();

  constructor(options: LaneAgentOptions) {
    const { router, carriers, services, onSelect, retry, ...agentOptions } = options;
    super(agentOptions);
    this.#route = laneRouting({ router, carriers, services, onSelect, retry });
  }

  /** Node's hook for each new request (see `http.Agent`): routes it, then queues it on this agent. */
  addRequest(req: ClientRequest, options: RequestTarget): void {
    this.#route(req, options, (target) => httpAddRequest.call(this, req, target));
  }

  /** Node's hook for each new connection: a routed request's connects to the next instance when one cannot be made. */
  override createConnection(options: ClientRequestArgs, callback?: (error: Error | null, socket: Duplex) => void): Duplex | null | undefined {
    const next = (options as RequestTarget)[NEXT_INSTANCE];
    if (next === undefined || callback === undefined) return super.createConnection(options, callback);
    connectWithRetries((target) => super.createConnection(target) as Duplex, options as RequestTarget, next, callback as Connected, this.#moved);
    return undefined;
  }

  /** Node's hook for a socket a request is done with: pooled, unless it is connected to another instance than its pool's. */
  override keepSocketAlive(socket: Duplex): boolean {
    return !this.#moved.has(socket) && keepAlive(super.keepSocketAlive(socket));
  }
}

/**
 * The `https.Agent` counterpart of {@link LaneAgent}. TLS is checked against the service name: the
 * `Host` header names the service, so the SNI server name is `b` and the instance's certificate must
 * be valid for `b` (pass `servername` in the request options to check another name).
 *
 * @example
 * ```ts
 * const agent = new LaneHttpsAgent({ router: graylane.router, keepAlive: true, ca });
 * https.get('https://b/hello', { agent }, (res) => { ... });
 * ```
 */
export class LaneHttpsAgent extends https.Agent {
  readonly #route: Route;
  readonly #moved = new WeakSet<Duplex>();

  constructor(options: LaneHttpsAgentOptions) {
    const { router, carriers, services, onSelect, retry, ...agentOptions } = options;
    super(agentOptions);
    this.#route = laneRouting({ router, carriers, services, onSelect, retry });
  }

  /** Node's hook for each new request (see `http.Agent`): routes it, then queues it on this agent. */
  addRequest(req: ClientRequest, options: RequestTarget): void {
    this.#route(req, options, (target) => httpsAddRequest.call(this, req, target));
  }

  /** Node's hook for each new connection: a routed request's connects to the next instance when one cannot be made. */
  override createConnection(options: ClientRequestArgs, callback?: (error: Error | null, socket: Duplex) => void): Duplex | null | undefined {
    const next = (options as RequestTarget)[NEXT_INSTANCE];
    if (next === undefined || callback === undefined) return super.createConnection(options, callback);
    connectWithRetries((target) => super.createConnection(target) as Duplex, options as RequestTarget, next, callback as Connected, this.#moved);
    return undefined;
  }

  /** Node's hook for a socket a request is done with: pooled, unless it is connected to another instance than its pool's. */
  override keepSocketAlive(socket: Duplex): boolean {
    return !this.#moved.has(socket) && keepAlive(super.keepSocketAlive(socket));
  }
}
