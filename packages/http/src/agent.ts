import http from 'node:http';
import type { ClientRequest, ClientRequestArgs } from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { RETRIED_CALL, connectWithRetries, laneRouting } from './routing.js';
import type { LaneRoutingOptions, RequestTarget, Route } from './routing.js';

/**
 * Options of {@link LaneAgent}: `http.Agent`'s (`keepAlive`, `maxSockets`, ...) and graylane's routing.
 * `timeout` defaults to {@link IDLE_SOCKET_TIMEOUT_MS} (4 s): a kept-alive connection idle that long
 * is closed before the instance's own idle timeout (Node's server default is 5 s) could close it
 * as a request reuses it, and an instance's `Keep-Alive: timeout=N` answer lowers it to N - 1 s.
 */
export interface LaneAgentOptions extends http.AgentOptions, LaneRoutingOptions {}

/** Options of {@link LaneHttpsAgent}: `https.Agent`'s (`ca`, `keepAlive`, ...) and graylane's routing. */
export interface LaneHttpsAgentOptions extends https.AgentOptions, LaneRoutingOptions {}

/** What a lane agent adds to its base agent: Node's hooks, overridden to route. */
interface LaneHooks {
  /** Node's hook for each new request (see `http.Agent`): routes it, then queues it on this agent. */
  addRequest(req: ClientRequest, options: RequestTarget): void;
}

/**
 * An `http.Agent` that routes requests to service hosts (`http://b/hello`) in the caller's lane: it
 * writes the lane carriers (`x-mse-tag`, baggage, ...) and connects to an instance of the service in
 * that lane, or along the lane's fallback chain to base. Sockets are pooled per instance. The
 * request keeps `Host: b`. Requests to other hosts pass through untouched, without lane carriers.
 */
export interface LaneAgent extends http.Agent, LaneHooks {}

/** The `https.Agent` counterpart of {@link LaneAgent}. */
export interface LaneHttpsAgent extends https.Agent, LaneHooks {}

/**
 * `http.Agent`: routes requests to service hosts in the caller's lane (see the {@link LaneAgent} type).
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
export const LaneAgent: { new (options: LaneAgentOptions): LaneAgent; readonly prototype: LaneAgent } = laneAgentClass('LaneAgent', http.Agent);

/**
 * The `https.Agent` counterpart of {@link LaneAgent}, the same routing on `https.Agent`. TLS is
 * checked against the service name: the `Host` header names the service, so the SNI server name is
 * `b` and the instance's certificate must be valid for `b` (pass `servername` in the request
 * options to check another name).
 *
 * @throws GraylaneError `GRAYLANE_ERR_CONFIG_INVALID` when `retry` is invalid.
 *
 * @example
 * ```ts
 * const agent = new LaneHttpsAgent({ router: graylane.router, keepAlive: true, ca });
 * https.get('https://b/hello', { agent }, (res) => { ... });
 * ```
 */
export const LaneHttpsAgent: { new (options: LaneHttpsAgentOptions): LaneHttpsAgent; readonly prototype: LaneHttpsAgent } =
  laneAgentClass('LaneHttpsAgent', https.Agent);

/**
 * The default `timeout` of a lane agent's sockets, in milliseconds: below Node's default server
 * `keepAliveTimeout` (5 s), so an idle kept-alive connection is retired before the instance closes it.
 */
export const IDLE_SOCKET_TIMEOUT_MS = 4_000;

/** `http.Agent#addRequest`: how Node hands an agent each new request. Agents override it; @types/node does not declare it. */
type AddRequest = (this: http.Agent, req: ClientRequest, options: RequestTarget) => void;

/** The callback of `createConnection`, as Node passes it. */
type Connected = (error: Error | null, socket?: Duplex) => void;

/** `keepSocketAlive`'s result: Node reads it (falsy: destroy the socket); @types/node types it `void`. */
const keepAlive = (result: void): boolean => (result as unknown as boolean | undefined) === true;

/**
 * A connection being made with retries, in its pool's place until it is made or has failed (see
 * `createConnection`). `destroy` (an agent's `destroy()` calls it on every socket of its pools)
 * ends the attempt: the request gets `socket hang up`, as for a socket destroyed under it.
 */
class PendingConnection {
  socket: Duplex | undefined;
  #settled = false;
  readonly #done: Connected;

  constructor(done: Connected) {
    this.#done = done;
  }

  readonly settle: Connected = (error, socket) => {
    if (this.#settled) {
      socket?.destroy();
      return;
    }
    this.#settled = true;
    this.#done(error, socket);
  };

  /**
   * Settles on the next tick, as a socket's `close` comes after its `destroy()`: settling takes this
   * out of the pool's list, and `agent.destroy()` is iterating that list.
   */
  destroy(): void {
    if (this.#settled) return;
    this.socket?.destroy();
    process.nextTick(() => this.settle(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })));
  }
}

/**
 * The one lane agent class, named `name`, over `Base` (`http.Agent` or `https.Agent`): its constructor takes the
 * base's options and graylane's, and Node's three hooks route requests, retry connections and keep
 * sockets pooled by the instance they reached.
 */
function laneAgentClass<A extends http.Agent, O extends http.AgentOptions>(name: string, Base: new (options: O) => A) {
  const addRequest = (Base.prototype as unknown as { addRequest: AddRequest }).addRequest;
  const AgentBase = Base as unknown as typeof http.Agent;
  const LaneAgentClass = class extends AgentBase implements LaneHooks {
    readonly #route: Route;
    readonly #moved = new WeakSet<Duplex>();

    constructor(options: O & LaneRoutingOptions) {
      const { router, carriers, services, onSelect, retry, ...agentOptions } = options;
      // Without a timeout Node's agent keeps idle sockets forever and ignores `Keep-Alive: timeout=`.
      super({ ...agentOptions, timeout: agentOptions.timeout ?? IDLE_SOCKET_TIMEOUT_MS });
      this.#route = laneRouting({ router, carriers, services, onSelect, retry });
    }

    addRequest(req: ClientRequest, options: RequestTarget): void {
      this.#route(req, options, (target) => addRequest.call(this, req, target));
    }

    /**
     * Node's hook for each new connection: a routed request's connects to the next instance when one
     * cannot be made. Node counts a pool's sockets (against `maxSockets`) once this hook gives one;
     * a connection made with retries is given later, so a placeholder holds its place in the pool
     * meanwhile. Without it, 200 requests at once on a pool of `maxSockets: 2` opened 100
     * connections to one instance.
     */
    override createConnection(options: ClientRequestArgs, callback?: (error: Error | null, socket: Duplex) => void): Duplex | null | undefined {
      const call = (options as RequestTarget)[RETRIED_CALL];
      if (call === undefined || callback === undefined) return super.createConnection(options, callback);
      const name = this.getName(options);
      const pools = this.sockets as Record<string, unknown[] | undefined>; // Node's own lists, typed read-only
      const pending = new PendingConnection((error, socket) => {
        const pool = pools[name];
        const at = pool ? pool.indexOf(pending) : -1;
        if (at >= 0) pool!.splice(at, 1);
        if (pool?.length === 0) delete pools[name];
        (callback as Connected)(error, socket);
      });
      (pools[name] ??= []).push(pending);
      const create = (target: RequestTarget): Duplex => (pending.socket = super.createConnection(target) as Duplex);
      connectWithRetries(create, options as RequestTarget, call, pending.settle, this.#moved);
      return undefined;
    }

    /** Node's hook for a socket a request is done with: pooled, unless it is connected to another instance than its pool's. */
    override keepSocketAlive(socket: Duplex): boolean {
      return !this.#moved.has(socket) && keepAlive(super.keepSocketAlive(socket));
    }
  };
  Object.defineProperty(LaneAgentClass, 'name', { value: name });
  return LaneAgentClass as unknown as { new (options: O & LaneRoutingOptions): A & LaneHooks; readonly prototype: A & LaneHooks };
}
