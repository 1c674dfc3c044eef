import http from 'node:http';
import type { ClientRequest } from 'node:http';
import https from 'node:https';
import { laneRouting } from './routing.js';
import type { LaneRoutingOptions, RequestTarget, Route } from './routing.js';

/** Options of {@link LaneAgent}: `http.Agent`'s (`keepAlive`, `maxSockets`, ...) and graylane's routing. */
export interface LaneAgentOptions extends http.AgentOptions, LaneRoutingOptions {}

/** Options of {@link LaneHttpsAgent}: `https.Agent`'s (`ca`, `keepAlive`, ...) and graylane's routing. */
export interface LaneHttpsAgentOptions extends https.AgentOptions, LaneRoutingOptions {}

/** `http.Agent#addRequest`: how Node hands an agent each new request. Agents override it; @types/node does not declare it. */
type AddRequest = (this: http.Agent, req: ClientRequest, options: RequestTarget) => void;

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
 * typed error (`GRAYLANE_ERR_NO_INSTANCE` or `GRAYLANE_ERR_STRICT_LANE`).
 *
 * @example
 * ```ts
 * const agent = new LaneAgent({ router: graylane.router, carriers: graylane.carriers, keepAlive: true });
 * http.get('http://b/hello', { agent }, (res) => { ... });
 * ```
 */
export class LaneAgent extends http.Agent {
  readonly #route: Route;

  constructor(options: LaneAgentOptions) {
    const { router, carriers, services, onSelect, ...agentOptions } = options;
    super(agentOptions);
    this.#route = laneRouting({ router, carriers, services, onSelect });
  }

  /** Node's hook for each new request (see `http.Agent`): routes it, then queues it on this agent. */
  addRequest(req: ClientRequest, options: RequestTarget): void {
    this.#route(req, options, (target) => httpAddRequest.call(this, req, target));
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

  constructor(options: LaneHttpsAgentOptions) {
    const { router, carriers, services, onSelect, ...agentOptions } = options;
    super(agentOptions);
    this.#route = laneRouting({ router, carriers, services, onSelect });
  }

  /** Node's hook for each new request (see `http.Agent`): routes it, then queues it on this agent. */
  addRequest(req: ClientRequest, options: RequestTarget): void {
    this.#route(req, options, (target) => httpsAddRequest.call(this, req, target));
  }
}
