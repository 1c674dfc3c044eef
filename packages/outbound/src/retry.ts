import { ErrorCode, GraylaneError, isGraylaneError } from '@graylane/core';
import type { InstanceFailure, LaneRouter, Selection } from '@graylane/router';

/** The methods retried by default: those HTTP defines as idempotent (RFC 9110, section 9.2.2). */
export const IDEMPOTENT_METHODS: readonly string[] = Object.freeze(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

const DEFAULT_ATTEMPTS = 2;

/**
 * How an outbound adapter retries a call whose instance could not be reached: the connection was
 * refused, could not be made, or was reset before any response byte. Each retry goes to another
 * instance of the same lane, then along the lane's fallback chain to base (a strict lane never
 * leaves the lane). Responses, error statuses included, are never retried.
 */
export interface RetryOptions {
  /** Attempts after the first, each on an instance not tried yet. Default 2; 0 turns retries off. */
  readonly attempts?: number;
  /**
   * The methods retried, in any case. Default {@link IDEMPOTENT_METHODS}. A reset may come after
   * the instance received the request, so list a non-idempotent method only if its calls are safe
   * to repeat.
   */
  readonly methods?: readonly string[];
  /** No retry starts later than this many milliseconds after the first attempt started. Default: no limit. */
  readonly budgetMs?: number;
}

/** Validated retry options; build one with {@link compileRetry}. */
export interface RetryPolicy {
  /** True when a call with `method` (`undefined` = `GET`) may be retried at all. */
  allows(method: string | undefined): boolean;
  /** Starts counting one call's attempts, the first aimed at `first`. */
  start(first: Selection): RetryAttempts;
}

/** The attempts of one call; see {@link RetryPolicy.start}. */
export interface RetryAttempts {
  /** The selection of the current attempt. */
  readonly current: Selection;
  /** The attempts made after the first. */
  readonly retries: number;
  /**
   * Called when the current attempt could not reach its instance (`failure`: it could not
   * connect, or was reset before any response byte): the selection for the next attempt, or
   * `undefined` when there is none to make: the attempts or the time budget are spent, or every
   * instance the request's lane may use has been tried. Reports the failure to the router first
   * ({@link LaneRouter.reportFailure}), which ejects an instance failing in a row when its outlier
   * ejection is on.
   */
  next(router: LaneRouter, failure?: InstanceFailure): Selection | undefined;
  /**
   * Called once the call has failed for good at connect, with `cause` its last connection error:
   * the router's own error (`GRAYLANE_ERR_NO_INSTANCE`, or `GRAYLANE_ERR_STRICT_LANE` in a strict
   * lane) marked `details.unreachable: true`, with `cause` as its cause, when the router has no
   * instance left that this call has not tried (ADR 0005); `undefined` when one is left (the
   * attempts or the budget ran out first).
   */
  unreachable(router: LaneRouter, cause: unknown): GraylaneError | undefined;
}

/**
 * No retries: attempts that only report each failure to the router (for outlier ejection), for a
 * call that is not retried (retries off, a method or body that cannot be sent again).
 */
export const NO_RETRIES: RetryPolicy = {
  allows: () => false,
  start: (first) => ({
    current: first,
    retries: 0,
    next: (router, failure = 'connect-failed') => void router.reportFailure(first.instance, failure),
    unreachable: () => undefined,
  }),
};

/**
 * Validates an adapter's `retry` option: `false` turns retries off, `undefined` means the defaults.
 *
 * @throws GraylaneError `GRAYLANE_ERR_CONFIG_INVALID` naming the invalid field.
 */
export function compileRetry(retry: RetryOptions | false | undefined): RetryPolicy {
  if (retry === false) return NO_RETRIES;
  const options = retry ?? {};
  const attempts = options.attempts ?? DEFAULT_ATTEMPTS;
  if (!(Number.isInteger(attempts) && attempts >= 0)) invalid('retry.attempts', attempts, 'a whole number, 0 or more');
  const budgetMs = options.budgetMs ?? Infinity;
  if (!(budgetMs >= 0)) invalid('retry.budgetMs', budgetMs, 'a number of milliseconds, 0 or more');
  const listed = options.methods ?? IDEMPOTENT_METHODS;
  if (!(Array.isArray(listed) && listed.every((m) => typeof m === 'string'))) invalid('retry.methods', listed, 'an array of method names');
  const methods = new Set(listed.map((m) => m.toUpperCase()));
  if (attempts === 0 || methods.size === 0) return NO_RETRIES;

  return {
    allows: (method) => methods.has(method === undefined ? 'GET' : method.toUpperCase()),
    start: (first) => new Attempts(first, attempts, budgetMs),
  };
}

/** The attempts of one call: a class, so that starting one allocates no closures. */
class Attempts implements RetryAttempts {
  current: Selection;
  retries = 0;
  readonly #attempts: number;
  readonly #budgetMs: number;
  readonly #startedAt = performance.now();
  #tried: Set<string> | undefined;
  /** The router's error once it had no instance left for this call. */
  #none: GraylaneError | undefined;

  constructor(first: Selection, attempts: number, budgetMs: number) {
    this.current = first;
    this.#attempts = attempts;
    this.#budgetMs = budgetMs;
  }

  next(router: LaneRouter, failure: InstanceFailure = 'connect-failed'): Selection | undefined {
    router.reportFailure(this.current.instance, failure);
    if (this.retries >= this.#attempts || performance.now() - this.#startedAt >= this.#budgetMs) return undefined;
    const tried = (this.#tried ??= new Set());
    tried.add(this.current.instance.id);
    try {
      this.current = router.select(this.current.service, this.current.requestedLane, { unreachable: tried });
    } catch (error) {
      if (isGraylaneError(error)) this.#none = error;
      return undefined; // nothing left to try: see exhausted()
    }
    this.retries++;
    return this.current;
  }

  unreachable(router: LaneRouter, cause: unknown): GraylaneError | undefined {
    const none = this.#none ?? this.#nothingLeft(router);
    if (none === undefined) return undefined;
    const { host, port } = this.current.instance;
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new GraylaneError(none.code, `${none.message}; every candidate refused the connection (last ${host}:${port}: ${reason})`, {
      cause,
      details: { ...none.details, unreachable: true },
    });
  }

  /** The attempts or the budget ran out: the router's error if no instance is left untried. */
  #nothingLeft(router: LaneRouter): GraylaneError | undefined {
    const tried = (this.#tried ??= new Set());
    tried.add(this.current.instance.id);
    try {
      router.select(this.current.service, this.current.requestedLane, { unreachable: tried });
      return undefined;
    } catch (error) {
      return isGraylaneError(error) ? (this.#none = error) : undefined;
    }
  }
}

function invalid(path: string, value: unknown, expected: string): never {
  throw new GraylaneError(ErrorCode.CONFIG_INVALID, `${path} must be ${expected}, got ${String(value)}`, {
    details: { path, value },
  });
}

/** Error codes of a connection closed by the other side or the network: Node's, and undici's. */
const RESET_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

/**
 * True when `error`, or an error in its `cause` chain, says no connection to the instance could be
 * made, so it received nothing: a socket error from `connect` (`ECONNREFUSED`, `EHOSTUNREACH`,
 * `ENETUNREACH`, `ETIMEDOUT`, ...), Node's `AggregateError` of those for a host with several
 * addresses, or undici's connect timeout. A timeout waiting for the response is not one.
 */
export function isConnectFailure(error: unknown): boolean {
  return someCause(
    error,
    (e) =>
      e.syscall === 'connect' ||
      e.code === 'UND_ERR_CONNECT_TIMEOUT' ||
      (Array.isArray(e.errors) && e.errors.length > 0 && e.errors.every(isConnectFailure)),
  );
}

/**
 * True when `error`, or an error in its `cause` chain, says an open connection was reset or closed
 * (`ECONNRESET`, `EPIPE`, undici's `UND_ERR_SOCKET`). The instance may have received the request;
 * only the adapter knows whether a response byte had arrived, and retries only before one did.
 */
export function isConnectionReset(error: unknown): boolean {
  return someCause(error, (e) => typeof e.code === 'string' && RESET_CODES.has(e.code));
}

type ErrorFields = { readonly code?: unknown; readonly syscall?: unknown; readonly errors?: unknown; readonly cause?: unknown };

/** Looks through `error` and its causes (a few levels: adapters wrap at most twice or so). */
function someCause(error: unknown, test: (error: ErrorFields) => boolean): boolean {
  let current = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const fields = current as ErrorFields;
    if (test(fields)) return true;
    current = fields.cause;
  }
  return false;
}

/**
 * True when a request body can be sent again as it is: none, a string, or bytes (an `ArrayBuffer`
 * or a view of one, such as a `Buffer`). A stream, an iterable, a `FormData` or a `Blob` may have
 * been read by the failed attempt, so a request with one is not retried.
 */
export function isReplayableBody(body: unknown): boolean {
  return body == null || typeof body === 'string' || body instanceof ArrayBuffer || ArrayBuffer.isView(body);
}
