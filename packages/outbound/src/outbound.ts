import { diag, trace } from '@opentelemetry/api';
import type { Span } from '@opentelemetry/api';
import { carriersOrDefault, getLane, getLaneTrail, recordSelection } from '@graylane/context';
import type { Carriers, LaneTrail } from '@graylane/context';
import type { LaneRouter, Selection } from '@graylane/router';
import type { HeaderAccess } from './headers.js';
import type { OutboundOptions } from './options.js';
import { NO_RETRIES, compileRetry, isConnectFailure, isConnectionReset } from './retry.js';
import type { RetryAttempts, RetryPolicy } from './retry.js';

/**
 * What the outbound core needs to know of the client an adapter wraps.
 *
 * @experimental for adapter authors; may change before 1.0.
 */
export interface OutboundClient {
  /**
   * True when the adapter can tell whether any byte of a response arrived, so that a connection
   * reset before one is retried as well as a connection that could not be made. False for a client
   * that retries connection failures only (`node:http`'s agent connects before the request writes;
   * a later reset is the caller's request's).
   */
  readonly retriesResets: boolean;
}

/**
 * The outbound steps of one adapter, built once from its options by {@link createOutbound}: which
 * hosts are services, and the start of each call to one.
 *
 * @experimental for adapter authors; may change before 1.0.
 */
export interface Outbound {
  /** The router the calls select with. */
  readonly router: LaneRouter;
  /**
   * True when `host` is a service: the router knows it, or the options' `services` name it. A
   * request to any other host passes through untouched, without lane carriers.
   */
  routes(host: string | null | undefined): host is string;
  /**
   * Starts a call to `service`: reads the caller's lane, active span and debug trail now. Call it
   * synchronously in the caller's context; the selection may settle in another one.
   */
  start(service: string): OutboundCall;
}

/**
 * One call to a service, from the lane snapshot to its last attempt. It selects, writes the
 * carriers, reports each selection (span attributes, `onSelect`) and, once armed by
 * {@link OutboundCall.selected}, picks the instance of each retry: within the lane, then along its
 * fallback chain. The adapter keeps the glue for its client: where the instance goes, when an
 * attempt failed, how it is sent again.
 *
 * @experimental for adapter authors; may change before 1.0.
 */
export interface OutboundCall {
  /** The callee service. */
  readonly service: string;
  /** The caller's lane when the call started; `undefined` for base. */
  readonly lane: string | undefined;
  /** The span active when the call started; each selection is recorded on it. */
  readonly span: Span | undefined;
  /** The caller's debug trail, when it has one: the adapter adds the callee's trail header to it. */
  readonly trail: LaneTrail | undefined;
  /**
   * Selects the first instance: the router's `selectAsync` for the call's service and lane, as it
   * is (no promise of graylane's in between). Pass the selection to {@link OutboundCall.selected}.
   */
  select(): Promise<Selection>;
  /**
   * {@link OutboundCall.select} without a promise when it can be: the first instance, chosen now,
   * when the router has the service's instance list; `undefined` when it has to wait for one (then
   * use `select()`). Throws what `select()` rejects with (`GRAYLANE_ERR_NO_INSTANCE`,
   * `GRAYLANE_ERR_STRICT_LANE`). An adapter whose client takes a plain value saves a promise turn
   * per call with it.
   */
  selectNow(): Selection | undefined;
  /**
   * Reports the first selection and arms retries when the retry policy allows `method`
   * (`undefined` = `GET`) and the adapter says the body can be sent again.
   *
   * @returns true when the adapter should watch the call's attempts: retries are armed, or the
   *   router ejects outliers and wants every outcome. The adapter then hands failed attempts to
   *   {@link OutboundCall.retryAfter} and tells {@link OutboundCall.answered} of a response.
   */
  selected(selection: Selection, method: string | undefined, replayable?: boolean): boolean;
  /**
   * Called when an attempt failed with `error` before any byte of a response arrived (the adapter
   * knows; the core does not). Tells the router of a connect failure or a reset (for outlier
   * ejection), then returns the selection of the next attempt, reported already, or `undefined`
   * when the error is not one to retry (not a connection failure, or a reset for a client that
   * does not retry them), retries are not armed, the body cannot be sent again (`replayable`
   * false; default true, as given to `selected`), or none is left: the adapter then reports `error`
   * as it would without graylane.
   */
  retryAfter(error: unknown, replayable?: boolean): Selection | undefined;
  /**
   * Called when the current attempt got a response (any status), or, for a client that only sees
   * connections, connected: the router counts the instance's failures in a row from zero again.
   */
  answered(): void;
  /**
   * The error to report when {@link OutboundCall.retryAfter} returned `undefined` for `error`:
   * when retries were armed, every attempt of the call failed at connect (nothing reached any
   * instance) and the router has no instance left that the call has not tried, the router's typed
   * error (`GRAYLANE_ERR_NO_INSTANCE`, or `GRAYLANE_ERR_STRICT_LANE` in a strict lane) with the
   * service, the lane and the lanes tried, `details.unreachable: true` and `error` as its `cause`;
   * otherwise `error` itself (ADR 0005). Called on the failure path only.
   */
  failure(error: unknown): unknown;
  /**
   * Writes the call's lane carriers into `request`'s headers through `headers`: the lane headers
   * set (or removed, in the base lane), the lane entries merged into an existing `baggage`.
   */
  inject<R>(request: R, headers: HeaderAccess<R>): void;
}

/**
 * Builds the outbound core of one adapter instance from the adapter's options. Options are
 * validated here, at start-up.
 *
 * @throws GraylaneError `GRAYLANE_ERR_CONFIG_INVALID` when `retry` is invalid.
 * @experimental for adapter authors; may change before 1.0.
 * @example
 * ```ts
 * const outbound = createOutbound(options, { retriesResets: true });
 * // per request, in the caller's context:
 * if (outbound.routes(host)) {
 *   const call = outbound.start(host);
 *   const selection = await call.select();
 *   call.inject(request, MY_HEADERS);
 *   const retried = call.selected(selection, request.method);
 * }
 * ```
 */
export function createOutbound(options: OutboundOptions, client: OutboundClient): Outbound {
  return new OutboundCore(options, client);
}

class OutboundCore implements Outbound {
  readonly router: LaneRouter;
  readonly carriers: Carriers;
  readonly onSelect: ((selection: Selection) => void) | undefined;
  readonly retry: RetryPolicy;
  readonly retriesResets: boolean;
  readonly #declared: ReadonlySet<string>;
  /** The carrier headers, lower case: all that {@link OutboundCore.inject} reads and writes. */
  readonly #fields: readonly string[];
  /** Reused by every injection (they are synchronous): the carrier headers as `injectLane` edits them. */
  readonly #scratch: Record<string, unknown> = {};
  /** Reused likewise: each field's value before the injection, by index. */
  readonly #before: (string | string[] | undefined)[];

  constructor(options: OutboundOptions, client: OutboundClient) {
    this.router = options.router;
    this.carriers = carriersOrDefault(options.carriers, 'carriers');
    this.onSelect = options.onSelect;
    this.retry = compileRetry(options.retry);
    this.retriesResets = client.retriesResets;
    this.#declared = new Set(options.services ?? []);
    this.#fields = this.carriers.propagator.fields();
    this.#before = new Array<string | string[] | undefined>(this.#fields.length);
  }

  routes(host: string | null | undefined): host is string {
    return typeof host === 'string' && (this.router.knows(host) || this.#declared.has(host));
  }

  start(service: string): OutboundCall {
    return new Call(this, service);
  }

  /** Records `selection` on `span` and tells `onSelect`, whose errors are logged and ignored. */
  report(selection: Selection, span: Span | undefined, retries: number): void {
    if (span !== undefined) recordSelection(selection, span, retries);
    const { onSelect } = this;
    if (!onSelect) return;
    try {
      onSelect(selection);
    } catch (error) {
      diag.warn('graylane: onSelect threw; ignored', error);
    }
  }

  /**
   * `injectLane` works on a plain record: the carrier headers already on the request are copied in
   * (to merge `baggage`, and so a stale lane header is removed in the base lane), the lane written,
   * and what changed copied back.
   */
  inject<R>(request: R, headers: HeaderAccess<R>, lane: string | undefined): void {
    const fields = this.#fields;
    const scratch = this.#scratch;
    const before = this.#before;
    // Every field is assigned, absent ones as `undefined` (which injectLane reads as absent), so
    // that the record keeps its shape from call to call instead of turning into a dictionary.
    for (let i = 0; i < fields.length; i++) {
      const value = headers.get(request, fields[i]!);
      before[i] = value;
      scratch[fields[i]!] = value;
    }
    this.carriers.injectLane(scratch, lane);
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i]!;
      const value = scratch[field] as string | string[] | undefined;
      if (value === undefined) {
        if (before[i] !== undefined) headers.delete(request, field);
      } else if (value !== before[i]) headers.set(request, field, value);
    }
  }
}

class Call implements OutboundCall {
  readonly service: string;
  readonly lane: string | undefined;
  readonly span: Span | undefined;
  readonly trail: LaneTrail | undefined;
  readonly #core: OutboundCore;
  #attempts: RetryAttempts | undefined;
  /** True once an attempt failed after its connection was made (a reset): something reached an instance. */
  #reached = false;

  constructor(core: OutboundCore, service: string) {
    this.#core = core;
    this.service = service;
    this.lane = getLane();
    this.span = trace.getActiveSpan();
    this.trail = getLaneTrail();
  }

  select(): Promise<Selection> {
    return this.#core.router.selectAsync(this.service, this.lane);
  }

  selectNow(): Selection | undefined {
    const { router } = this.#core;
    // Not listed yet: select() watches the service and waits for its first list.
    return router.listed(this.service) ? router.select(this.service, this.lane) : undefined;
  }

  selected(selection: Selection, method: string | undefined, replayable = true): boolean {
    const core = this.#core;
    core.report(selection, this.span, 0);
    if (replayable && core.retry.allows(method)) this.#attempts = core.retry.start(selection);
    else if (core.router.ejectsOutliers()) this.#attempts = NO_RETRIES.start(selection);
    else return false;
    return true;
  }

  retryAfter(error: unknown, replayable = true): Selection | undefined {
    const attempts = this.#attempts;
    if (attempts === undefined) return undefined;
    const core = this.#core;
    const connectFailed = isConnectFailure(error);
    if (!connectFailed) {
      this.#reached = true;
      if (!isConnectionReset(error)) return undefined;
    }
    const failure = connectFailed ? 'connect-failed' : 'reset';
    if (!replayable || !(connectFailed || core.retriesResets)) {
      core.router.reportFailure(attempts.current.instance, failure);
      return undefined;
    }
    const next = attempts.next(core.router, failure);
    if (next !== undefined) core.report(next, this.span, attempts.retries);
    return next;
  }

  answered(): void {
    const attempts = this.#attempts;
    if (attempts !== undefined) this.#core.router.reportSuccess(attempts.current.instance);
  }

  failure(error: unknown): unknown {
    const attempts = this.#attempts;
    if (attempts === undefined || this.#reached || !isConnectFailure(error)) return error;
    return attempts.unreachable(this.#core.router, error) ?? error;
  }

  inject<R>(request: R, headers: HeaderAccess<R>): void {
    this.#core.inject(request, headers, this.lane);
  }
}
