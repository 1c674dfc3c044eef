import { Client, credentials, status } from '@grpc/grpc-js';
import type { ChannelCredentials, ChannelOptions, ClientDuplexStream, ServiceError } from '@grpc/grpc-js';
import { ErrorCode, GraylaneError, backoffDelay, isGraylaneError } from '@graylane/core';
import type { NacosServer, ResolvedOptions, ResolvedTls } from '../options.js';
import { decodePayload, encodePayload, nacosMethods } from '../proto.js';
import type { Body, Payload } from '../proto.js';
import { num, str } from '../wire.js';
import { NacosAuth } from './auth.js';
import { checkNamespace } from './namespace.js';

/** The Nacos module a connection serves; Nacos clients open one connection per module. */
export type NacosModule = 'naming' | 'config';

/** Sends one request on one particular connection and resolves with the response body. */
export type Send = (type: string, body: Body) => Promise<Body>;

/** Handles one server push after the connection has acknowledged it. */
export type PushHandler = (body: Body) => void;

/**
 * Restores server-side state on a fresh connection (re-register, re-subscribe, re-listen). Runs on
 * every connection before ordinary requests are let through, with a `send` bound to that connection.
 */
export type ConnectHandler = (send: Send) => Promise<void>;

const CLIENT_VERSION = 'Nacos-Graylane-Client:v0.1.0';
const IDLE_HEALTH_CHECK_MS = 5_000;
const HEALTH_TICK_MS = 1_000;
const SETUP_RETRY_MS = 25;
const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5_000;
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** Codes of ServerCheckResponse while a server is starting. */
const isStarting = (errorCode: number) => errorCode >= 300 && errorCode < 400;
/** Unary calls answer 301 until the server has registered the connection's bi-stream. */
const NOT_REGISTERED = 301;

/** A caller of {@link NacosConnection.ready}; `failFast` ones give up on the first failed attempt. */
interface Waiter {
  readonly failFast: boolean;
  resolve(live: Live): void;
  reject(error: Error): void;
}

interface Live {
  readonly server: NacosServer;
  readonly client: Client;
  readonly stream: ClientDuplexStream<Payload, Payload>;
  /** Resolves (never rejects) when the stream breaks, with the reason. */
  readonly broken: Promise<Error>;
  /** Sends on this connection; its identity tells callers which connection a request went out on. */
  readonly send: Send;
  /** True once connect handlers have run: ordinary requests may use the connection. */
  ready: boolean;
}

/**
 * One module's connection to Nacos over gRPC: a single HTTP/2 channel carrying unary requests and
 * the bi-directional stream (the server derives the connection id from the transport, so they must
 * share it). Connects lazily, answers server pushes, keeps the connection alive, and reconnects with
 * backoff across the server list, running the connect handlers on every new connection.
 */
export class NacosConnection {
  readonly #options: ResolvedOptions;
  readonly #module: NacosModule;
  readonly #auth: NacosAuth | undefined;
  readonly #pushHandlers = new Map<string, PushHandler>();
  readonly #connectHandlers: ConnectHandler[] = [];
  readonly #waiters = new Set<Waiter>();
  #live: Live | undefined;
  #connecting = false;
  #closed = false;
  #serverIndex = 0;
  #lastError: Error | undefined;
  /** The message of the last start-up error (credentials, namespace) logged, to log each once. */
  #lastFatal: string | undefined;
  /** A login with these credentials has succeeded on some connection of this client. */
  #loggedInOnce = false;
  #lastActivity = 0;
  #requestIds = 0;
  #healthCheck: Promise<void> | undefined;
  #healthTimer: NodeJS.Timeout | undefined;
  #wakeUp: (() => void) | undefined;

  constructor(options: ResolvedOptions, module: NacosModule) {
    this.#options = options;
    this.#module = module;
    this.#auth = options.credentials && new NacosAuth(options.credentials, options);
  }

  /** Handles pushes of `type` (e.g. `NotifySubscriberRequest`); the connection acknowledges them. */
  onPush(type: string, handler: PushHandler): void {
    this.#pushHandlers.set(type, handler);
  }

  /** Adds a handler run on every new connection, before ordinary requests go through. */
  onConnect(handler: ConnectHandler): void {
    this.#connectHandlers.push(handler);
  }

  /** Starts connecting if not connected yet; requests do this themselves. */
  connect(): void {
    if (this.#closed || this.#live || this.#connecting) return;
    this.#connecting = true;
    void this.#connectLoop().finally(() => {
      this.#connecting = false;
    });
  }

  /**
   * Waits (at most the request timeout) for a connection whose state has been restored and returns
   * its `send`. Requests through `send` reject with a {@link GraylaneError}: `NACOS_TIMEOUT`,
   * `NACOS_AUTH`, or `NACOS` with the server's `errorCode` in `details`; the wait rejects with
   * `NACOS` (unreachable), `NACOS_TIMEOUT` or `CLOSED`.
   *
   * With `failFastMs`, for callers that have something else to answer with (the failover cache),
   * the wait gives up after that long, or as soon as an attempt to connect fails, or at once while
   * the client is between failed attempts.
   */
  async ready(options: { readonly failFastMs?: number } = {}): Promise<Send> {
    return (await this.#whenReady(options.failFastMs)).send;
  }

  /** Sends a request once a connection is ready; see {@link ready} for the errors. */
  async request(type: string, body: Body): Promise<Body> {
    return (await this.ready())(type, body);
  }

  /** Closes the connection; pending and later requests reject with `CLOSED`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#healthTimer);
    this.#auth?.close();
    this.#wakeUp?.();
    const error = new GraylaneError(ErrorCode.CLOSED, `the Nacos ${this.#module} client is closed`);
    for (const waiter of this.#waiters) waiter.reject(error);
    this.#waiters.clear();
    const live = this.#live;
    this.#live = undefined;
    if (live) {
      live.stream.end();
      live.stream.cancel();
      live.client.close();
    }
  }

  /** Connects, trying the servers in turn with backoff, until a connection is ready or the client closes. */
  async #connectLoop(): Promise<void> {
    const servers = this.#options.servers;
    let attempt = 0;
    while (!this.#closed && !this.#live?.ready) {
      const server = servers[this.#serverIndex % servers.length]!;
      try {
        const live = await this.#open(server);
        if (this.#lastError) this.#options.logger.warn(`graylane: Nacos ${this.#module} connection to ${address(server)} established`);
        this.#lastError = undefined;
        attempt = 0;
        // If the connection breaks while its state is restored, the loop connects again.
        await this.#runConnectHandlers(live);
      } catch (error) {
        if (this.#closed) return;
        this.#lastError = error as Error;
        if (isFatal(error) && !this.#refusedWhileRestarting(error)) {
          // Wrong credentials or a missing namespace: retrying will not help. Every waiter gets the
          // error now; the loop stops, and the next request tries once more (it may be fixed by then).
          for (const waiter of this.#waiters) waiter.reject(error);
          if (error.message !== this.#lastFatal) this.#options.logger.warn(`graylane: ${error.message}`);
          this.#lastFatal = error.message;
          return;
        }
        for (const waiter of this.#waiters) if (waiter.failFast) waiter.reject(this.#unreachable(error as Error));
        if (attempt === 0) {
          this.#options.logger.warn(
            `graylane: cannot connect to Nacos at ${address(server)} (${(error as Error).message}); retrying${servers.length > 1 ? ' across servers' : ''}`,
          );
        }
        this.#serverIndex++;
        await this.#sleep(backoffDelay(attempt, { firstMs: BACKOFF_MIN_MS, maxMs: BACKOFF_MAX_MS }));
        attempt++;
      }
    }
  }

  /** ServerCheck → bi-stream → ConnectionSetup → wait until the server accepts requests on it. */
  async #open(server: NacosServer): Promise<Live> {
    const deadline = Date.now() + this.#options.timeoutMs;
    const tls = this.#options.tls;
    const client = new Client(`${server.host}:${server.grpcPort}`, tls ? sslCredentials(tls) : credentials.createInsecure(), {
      // Own subchannel: two clients in one process must not share an HTTP/2 connection, or Nacos
      // would see them as one connection.
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
      ...(tls?.servername ? tlsNameOptions(tls.servername) : {}),
    });
    try {
      for (;;) {
        const check = await this.#unary(client, server, 'ServerCheckRequest', {}, deadline);
        const errorCode = num(check.body['errorCode'], 0);
        if (isSuccess(check.type, check.body)) break;
        if (!isStarting(errorCode) || Date.now() + SETUP_RETRY_MS >= deadline) throw responseError(server, 'ServerCheckRequest', check.body);
        await delay(SETUP_RETRY_MS);
      }

      // A fresh login on every connection: a restarted server may have forgotten the tokens it gave.
      const token = this.#auth ? (await this.#auth.login(server)).value : undefined;
      await checkNamespace(this.#options, server, token);

      const { requestBiStream } = nacosMethods();
      const stream = client.makeBidiStreamRequest(
        requestBiStream.path,
        requestBiStream.requestSerialize,
        requestBiStream.responseDeserialize,
      );
      let onBroken!: (error: Error) => void;
      const broken = new Promise<Error>((resolve) => (onBroken = resolve));
      const live: Live = {
        server,
        client,
        stream,
        broken,
        send: (type, body) => this.#send(live, type, body),
        ready: false,
      };
      stream.on('data', (payload: Payload) => this.#onPush(live, payload));
      stream.on('error', (error: Error) => {
        onBroken(error);
        this.#drop(live, error);
      });
      stream.on('end', () => {
        const error = new Error('the server ended the stream');
        onBroken(error);
        this.#drop(live, error);
      });
      stream.write(
        encodePayload(
          'ConnectionSetupRequest',
          {
            clientVersion: CLIENT_VERSION,
            tenant: this.#options.namespace,
            labels: { source: 'sdk', module: this.#module },
            clientAbilities: {
              remoteAbility: { supportRemoteConnection: true },
              configAbility: { supportRemoteMetrics: false },
              namingAbility: { supportDeltaPush: false, supportRemoteMetric: false },
            },
            abilityTable: {},
            module: 'internal',
            headers: {},
          },
          this.#options.clientIp,
        ),
      );

      // Java servers acknowledge the setup, r-nacos does not: probe until the connection is known.
      for (;;) {
        const probe = await Promise.race([this.#unary(client, server, 'HealthCheckRequest', { module: 'internal' }, deadline), broken]);
        if (probe instanceof Error) throw probe;
        if (isSuccess(probe.type, probe.body)) break;
        if (num(probe.body['errorCode'], 0) !== NOT_REGISTERED || Date.now() + SETUP_RETRY_MS >= deadline) {
          throw responseError(server, 'HealthCheckRequest', probe.body);
        }
        await delay(SETUP_RETRY_MS);
      }

      if (this.#closed) throw new GraylaneError(ErrorCode.CLOSED, `the Nacos ${this.#module} client is closed`);
      this.#live = live;
      this.#lastActivity = Date.now();
      this.#healthTimer ??= setInterval(() => this.#checkIdle(), HEALTH_TICK_MS).unref();
      return live;
    } catch (error) {
      client.close();
      throw error;
    }
  }

  async #runConnectHandlers(live: Live): Promise<void> {
    for (const handler of this.#connectHandlers) {
      try {
        await handler(live.send);
      } catch (error) {
        this.#options.logger.warn(`graylane: restoring Nacos ${this.#module} state after connecting failed: ${(error as Error).message}`);
      }
    }
    if (this.#live !== live) return;
    live.ready = true;
    if (this.#auth) this.#loggedInOnce = true;
    for (const waiter of this.#waiters) waiter.resolve(live);
    this.#waiters.clear();
  }

  #whenReady(failFastMs: number | undefined): Promise<Live> {
    if (this.#closed) return Promise.reject(new GraylaneError(ErrorCode.CLOSED, `the Nacos ${this.#module} client is closed`));
    if (this.#live?.ready) return Promise.resolve(this.#live);
    const failFast = failFastMs !== undefined;
    if (failFast && this.#lastError && !isFatal(this.#lastError) && !this.#live) return Promise.reject(this.#unreachable(this.#lastError));
    this.connect();
    const timeoutMs = failFast ? Math.min(failFastMs, this.#options.timeoutMs) : this.#options.timeoutMs;
    return new Promise<Live>((resolve, reject) => {
      const waiter: Waiter = {
        failFast,
        resolve: (live) => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve(live);
        },
        reject: (error) => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        const servers = this.#options.servers.map(address).join(',');
        waiter.reject(
          this.#lastError
            ? this.#unreachable(this.#lastError)
            : new GraylaneError(ErrorCode.NACOS_TIMEOUT, `no connection to Nacos (${this.#module}) at ${servers} within ${timeoutMs} ms`, {
                details: { servers, timeoutMs },
              }),
        );
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  /**
   * A login refused on a reconnect, with credentials that worked before: the Java server answers
   * logins with 403 for a few seconds after it starts (seen on Nacos 3.1), so a restarted server
   * refuses good credentials at first. Giving up there would leave this client's registrations
   * gone for good; the loop retries with backoff instead. At start-up a refusal stays fatal.
   */
  #refusedWhileRestarting(error: GraylaneError): boolean {
    return error.code === ErrorCode.NACOS_AUTH && this.#loggedInOnce;
  }

  /** The error of a wait that ends because connecting failed with `lastError`. */
  #unreachable(lastError: Error): GraylaneError {
    if (isFatal(lastError)) return lastError;
    const servers = this.#options.servers.map(address).join(',');
    return new GraylaneError(isGraylaneError(lastError) ? lastError.code : ErrorCode.NACOS, `cannot reach Nacos (${this.#module}) at ${servers}: ${lastError.message}`, {
      cause: lastError,
      details: { servers },
    });
  }

  async #send(live: Live, type: string, body: Body, retried = false): Promise<Body> {
    const deadline = Date.now() + this.#options.timeoutMs;
    const response = await this.#unary(live.client, live.server, type, { module: this.#module, ...body }, deadline);
    if (isSuccess(response.type, response.body)) return response.body;
    const error = responseError(live.server, type, response.body, this.#auth !== undefined);
    if (error.code === ErrorCode.NACOS_AUTH && this.#auth && !retried) {
      // The token expired early, or the server restarted and forgot it: log in again, try once more.
      await this.#auth.login(live.server);
      return this.#send(live, type, body, true);
    }
    throw error;
  }

  async #unary(client: Client, server: NacosServer, type: string, body: Body, deadline: number): Promise<{ type: string; body: Body }> {
    const headers = this.#auth && !isAnonymous(type) ? await this.#auth.headers(server) : {};
    const payload = encodePayload(type, { ...body, headers, requestId: this.#nextRequestId() }, this.#options.clientIp, headers);
    const { request } = nacosMethods();
    const response = await new Promise<Payload>((resolve, reject) => {
      client.makeUnaryRequest(request.path, request.requestSerialize, request.responseDeserialize, payload, { deadline }, (error, value) =>
        error || !value ? reject(transportError(server, type, error, this.#options.timeoutMs, this.#options.tls !== undefined)) : resolve(value),
      );
    });
    this.#lastActivity = Date.now();
    return decodePayload(response);
  }

  #onPush(live: Live, payload: Payload): void {
    this.#lastActivity = Date.now();
    const { type, body } = decodePayload(payload);
    if (!type.endsWith('Request')) return;
    live.stream.write(
      encodePayload(
        type.replace(/Request$/, 'Response'),
        { resultCode: 200, errorCode: 0, message: '', requestId: str(body['requestId']) },
        this.#options.clientIp,
      ),
    );
    if (type === 'ConnectResetRequest') {
      this.#drop(live, new Error('the server asked the client to reconnect'));
      return;
    }
    this.#pushHandlers.get(type)?.(body);
  }

  #checkIdle(): void {
    const live = this.#live;
    if (!live?.ready || this.#healthCheck || Date.now() - this.#lastActivity < IDLE_HEALTH_CHECK_MS) return;
    this.#healthCheck = live
      .send('HealthCheckRequest', { module: 'internal' })
      .then(
        () => undefined,
        (error: Error) => this.#drop(live, error),
      )
      .finally(() => {
        this.#healthCheck = undefined;
      });
  }

  #drop(live: Live, reason: Error): void {
    if (this.#live !== live) return;
    this.#live = undefined;
    live.stream.cancel();
    live.client.close();
    if (this.#closed) return;
    this.#lastError = reason;
    this.#options.logger.warn(`graylane: lost the Nacos ${this.#module} connection to ${address(live.server)} (${reason.message}); reconnecting`);
    this.#serverIndex++;
    this.connect();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#wakeUp?.(), ms);
      this.#wakeUp = () => {
        clearTimeout(timer);
        this.#wakeUp = undefined;
        resolve();
      };
    });
  }

  #nextRequestId(): string {
    this.#requestIds = (this.#requestIds + 1) % Number.MAX_SAFE_INTEGER;
    return String(this.#requestIds);
  }
}

const address = (server: NacosServer) => `${server.host}:${server.httpPort}`;
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Errors of connecting that retrying does not cure: refused credentials, a namespace the server does not have. */
function isFatal(error: unknown): error is GraylaneError {
  return isGraylaneError(error) && (error.code === ErrorCode.NACOS_AUTH || error.code === ErrorCode.CONFIG_INVALID);
}
const isAnonymous = (type: string) => type === 'ServerCheckRequest' || type === 'HealthCheckRequest';

function isSuccess(type: string, body: Body): boolean {
  return type !== 'ErrorResponse' && num(body['resultCode'], 200) === 200;
}

function responseError(server: NacosServer, type: string, body: Body, loggedIn = false): GraylaneError {
  const errorCode = num(body['errorCode'], 0);
  const message = str(body['message']) || 'no message';
  const details = { server: address(server), type, errorCode };
  if (errorCode === 401 || errorCode === 403) {
    const hint = loggedIn
      ? 'check that the user may use this namespace and group'
      : 'the server requires a login: set username and password (NACOS_USERNAME, NACOS_PASSWORD)';
    return new GraylaneError(ErrorCode.NACOS_AUTH, `Nacos at ${address(server)} refused ${type} (errorCode ${errorCode}: ${message}); ${hint}`, {
      details,
    });
  }
  return new GraylaneError(ErrorCode.NACOS, `Nacos rejected ${type} (errorCode ${errorCode}: ${message})`, { details });
}

/** gRPC TLS credentials: the CA (or the system roots), an optional client certificate, verification as configured. */
function sslCredentials(tls: ResolvedTls): ChannelCredentials {
  return credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null, { rejectUnauthorized: tls.rejectUnauthorized });
}

/**
 * With `servername`, grpc-js sends it as SNI and checks the certificate against it instead of the
 * address' host (its `checkServerIdentity` is called with the override).
 */
function tlsNameOptions(servername: string): ChannelOptions {
  return { 'grpc.ssl_target_name_override': servername, 'grpc.default_authority': servername };
}

/** OpenSSL and Node errors of a TLS handshake whose peer could not be verified. */
const TLS_VERIFY_ERROR =
  /certificate|self[- ]signed|unable to (get|verify)|ERR_TLS|CERT_|Hostname\/IP does not match|wrong version number|SSL routines|alert/i;

/** `No connection established. Last error: Error [CODE]: reason. Resolution note: ` → `CODE: reason`. */
function tlsReason(details: string): string {
  return details
    .replace(/^No connection established\. Last error: /, '')
    .replace(/^Error (\[[A-Z_]+\]): /, '$1 ')
    .replace(/^Error: /, '')
    .replace(/\.? Resolution note:.*$/s, '')
    .trim();
}

function transportError(server: NacosServer, type: string, error: ServiceError | null, timeoutMs: number, tls: boolean): GraylaneError {
  const target = `${server.host}:${server.grpcPort} (gRPC)`;
  const details = { server: address(server), type, grpcCode: error?.code };
  const reason = `${error?.details ?? ''} ${error?.message ?? ''}`;
  if (tls && error?.code === status.UNAVAILABLE && TLS_VERIFY_ERROR.test(reason)) {
    return new GraylaneError(
      ErrorCode.NACOS,
      `TLS handshake with Nacos at ${target} failed (${tlsReason(error.details || error.message)}); check the tls option: ca (the CA that signed the server's certificate), servername (a name the certificate holds), or whether the server speaks TLS at all`,
      { cause: error, details: { ...details, tls: true } },
    );
  }
  if (error?.code === status.DEADLINE_EXCEEDED) {
    return new GraylaneError(ErrorCode.NACOS_TIMEOUT, `Nacos ${type} to ${target} timed out after ${timeoutMs} ms`, {
      cause: error,
      details,
    });
  }
  return new GraylaneError(ErrorCode.NACOS, `Nacos ${type} to ${target} failed: ${error?.details || error?.message || 'empty response'}`, {
    cause: error,
    details,
  });
}
