import type { Dispatcher } from 'undici';
import { diag, trace } from '@opentelemetry/api';
import type { Span } from '@opentelemetry/api';
import { TRAIL_HEADER, getLane, getLaneTrail, injectLane, recordSelection } from '@graylane/context';
import type { CarrierOptions, LaneTrail } from '@graylane/context';
import { compileRetry, isConnectFailure, isConnectionReset, isReplayableBody } from '@graylane/router';
import type { LaneRouter, RetryAttempts, RetryOptions, Selection } from '@graylane/router';

/** Options of {@link laneInterceptor}. */
export interface LaneInterceptorOptions {
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
   * Retries of a request whose instance could not be reached (connection refused or not made, or
   * closed before the response headers) on another instance of the lane, then along its fallback
   * chain. Default: up to 2 retries of GET, HEAD, OPTIONS, PUT, DELETE and TRACE whose body is
   * none, a string or bytes; `fetch` streams every body it sends, so only its requests without a
   * body qualify. `false` turns retries off.
   */
  readonly retry?: RetryOptions | false;
}

type DispatchHeaders = Dispatcher.DispatchOptions['headers'];
/** A dispatch handler, whichever of undici's handler interfaces the installed version types. */
type DispatchHandler = Parameters<Dispatcher['dispatch']>[1];

/**
 * An undici interceptor that makes a dispatcher lane-aware. A request whose origin host is a service
 * name (`http://b/hello`) is sent to an instance of that service in the caller's lane, or along the
 * lane's fallback chain to base, with the lane carriers (`x-mse-tag`, baggage, ...) written so the
 * callee keeps the lane. The `Host` header names the instance, as with any request to it. Requests
 * to other hosts pass through untouched, without lane carriers.
 *
 * The lane is read when the request is dispatched, which for `fetch` and `undici.request` is still
 * in the caller's async context. When no instance qualifies, the request fails with graylane's typed
 * error (`GRAYLANE_ERR_NO_INSTANCE` or `GRAYLANE_ERR_STRICT_LANE`): `undici.request` rejects with it,
 * `fetch` rejects with its usual `TypeError('fetch failed')` whose `cause` is it.
 *
 * A request that cannot reach its instance is dispatched again to the next one (see
 * {@link LaneInterceptorOptions.retry}); when none is left, it fails with the last connection error.
 * Each selection is recorded on the span active at the call (`graylane.*` attributes). When the
 * calling request has a debug trail (see `TRAIL_HEADER` in `@graylane/context`), the callee's trail
 * header is added to it.
 *
 * Compose it onto an `Agent` (or the global dispatcher), which routes each request by its origin;
 * a `Client` or `Pool` is bound to one origin and cannot follow the selection.
 *
 * @throws GraylaneError `GRAYLANE_ERR_CONFIG_INVALID` when `retry` is invalid.
 * @example
 * ```ts
 * import { Agent, fetch } from 'undici';
 * const dispatcher = new Agent().compose(laneInterceptor({ router: graylane.router }));
 * await fetch('http://b/hello', { dispatcher });
 * ```
 */
export function laneInterceptor(options: LaneInterceptorOptions): Dispatcher.DispatcherComposeInterceptor {
  const { router, carriers, onSelect } = options;
  const declared = new Set(options.services ?? []);
  const retry = compileRetry(options.retry);

  return (dispatch) =>
    function laneDispatch(opts, handler) {
      const service = hostOf(opts.origin);
      if (service === undefined || !(router.knows(service) || declared.has(service))) return dispatch(opts, handler);

      // Read now: this is the caller's context; the selection below may settle in another one.
      const lane = getLane();
      const span = trace.getActiveSpan();
      const trail = getLaneTrail();
      const answered = trail === undefined ? handler : trailing(handler, trail);
      router
        .selectAsync(service, lane)
        .then((selection) => {
          report(selection, span, 0, onSelect);
          const attempts =
            retry.allows(opts.method) && isReplayableBody(opts.body)
              ? retrying(answered, retry.start(selection), (next, retries) => {
                  report(next, span, retries, onSelect);
                  dispatch(routed(opts, next, lane, carriers), attempts);
                })
              : answered;
          dispatch(routed(opts, selection, lane, carriers), attempts);
        })
        .catch((error: Error) => handler.onError?.(error));
      return true;
    };

  /**
   * `handler` behind a proxy that, when an attempt fails before any response byte, selects the next
   * instance and calls `resend` with it instead of reporting the error. undici has two handler
   * interfaces (`onHeaders`/`onError`, and undici 7's `onResponseStart`/`onResponseError`), and
   * tells them apart by the methods present; a proxy keeps the handler's own shape and steps into
   * the calls that say a response started or the attempt failed. Each attempt calls the handler's
   * `onConnect` or `onRequestStart` again, as undici's own redirects do.
   */
  function retrying(
    handler: DispatchHandler,
    attempts: RetryAttempts,
    resend: (next: Selection, retries: number) => void,
  ): DispatchHandler {
    let responded = false;
    return new Proxy(handler, {
      get(target, key) {
        const value: unknown = Reflect.get(target, key, target);
        if (typeof value !== 'function') return value;
        if (RESPONSE_STARTS.has(key)) {
          return (...args: unknown[]) => {
            responded = true;
            return value.apply(target, args);
          };
        }
        if (key === 'onError' || key === 'onResponseError') {
          return (...args: unknown[]) => {
            const error = args[args.length - 1];
            const next = !responded && (isConnectFailure(error) || isConnectionReset(error)) ? attempts.next(router) : undefined;
            if (next === undefined) return value.apply(target, args);
            resend(next, attempts.retries);
          };
        }
        return value.bind(target);
      },
    });
  }
}

/**
 * `handler` behind a proxy that adds the callee's trail header to `trail` when the response headers
 * arrive: as raw `[name, value, ...]` buffers (`onHeaders`) or a record (undici 7's `onResponseStart`).
 */
function trailing(handler: DispatchHandler, trail: LaneTrail): DispatchHandler {
  return new Proxy(handler, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== 'function') return value;
      if (key === 'onHeaders') {
        return (statusCode: number, headers: Buffer[], ...rest: unknown[]) => {
          for (let i = 0; i + 1 < headers.length; i += 2) {
            if (headers[i]!.toString('latin1').toLowerCase() === TRAIL_HEADER) trail.add(headers[i + 1]!.toString('latin1'));
          }
          return value.call(target, statusCode, headers, ...rest);
        };
      }
      if (key === 'onResponseStart') {
        return (controller: unknown, statusCode: number, headers: Record<string, string | string[] | undefined>, ...rest: unknown[]) => {
          trail.add(headers[TRAIL_HEADER]);
          return value.call(target, controller, statusCode, headers, ...rest);
        };
      }
      return value.bind(target);
    },
  });
}

/** The handler calls that say a response has started: after one, a failure is not retried. */
const RESPONSE_STARTS: ReadonlySet<string | symbol> = new Set(['onResponseStarted', 'onHeaders', 'onUpgrade', 'onResponseStart', 'onRequestUpgrade']);

/** The host name of a dispatch origin, or `undefined` when there is none or it does not parse. */
function hostOf(origin: string | URL | undefined): string | undefined {
  if (origin === undefined) return undefined;
  if (typeof origin !== 'string') return origin.hostname;
  try {
    return new URL(origin).hostname;
  } catch {
    return undefined;
  }
}

/** `opts` aimed at the selected instance, with the lane carriers written into a copy of its headers. */
function routed(
  opts: Dispatcher.DispatchOptions,
  selection: Selection,
  lane: string | undefined,
  carriers: CarrierOptions | undefined,
): Dispatcher.DispatchOptions {
  const { host, port } = selection.instance;
  const origin = new URL(String(opts.origin));
  const headers = headerRecord(opts.headers);
  injectLane(headers, lane, carriers);
  return {
    ...opts,
    origin: `${origin.protocol}//${host.includes(':') ? `[${host}]` : host}:${port}`,
    headers: headers as Record<string, string | string[]>,
  };
}

/**
 * undici's request headers (a record, a flat `[name, value, ...]` array, or an iterable of pairs) as
 * a new record that `injectLane` can edit; repeated names become arrays, as undici accepts them.
 */
function headerRecord(headers: DispatchHeaders): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  if (headers == null) return record;
  const add = (name: string, value: string | string[] | undefined): void => {
    if (value === undefined) return;
    const previous = record[name];
    record[name] = previous === undefined ? value : [previous, value].flat();
  };
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) add(headers[i]!, headers[i + 1]);
  } else if (Symbol.iterator in headers) {
    for (const [name, value] of headers as Iterable<[string, string | string[] | undefined]>) add(name, value);
  } else {
    for (const [name, value] of Object.entries(headers)) add(name, value);
  }
  return record;
}

function report(selection: Selection, span: Span | undefined, retries: number, onSelect: LaneInterceptorOptions['onSelect']): void {
  if (span !== undefined) recordSelection(selection, span, retries);
  if (!onSelect) return;
  try {
    onSelect(selection);
  } catch (error) {
    diag.warn('graylane: onSelect threw; ignored', error);
  }
}
