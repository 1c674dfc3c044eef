import type { Dispatcher } from 'undici-types';
import { TRAIL_HEADER } from '@graylane/context';
import type { LaneTrail } from '@graylane/context';
import { createOutbound, isReplayableBody } from '@graylane/outbound';
import type { HeaderAccess, OutboundCall, OutboundOptions, RetryOptions } from '@graylane/outbound';
import type { Selection } from '@graylane/router';

/** Options of {@link laneInterceptor}: graylane's outbound options (see `OutboundOptions` in `@graylane/outbound`). */
export interface LaneInterceptorOptions extends OutboundOptions {
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
  const outbound = createOutbound(options, { retriesResets: true });

  return (dispatch) =>
    function laneDispatch(opts, handler) {
      const service = hostOf(opts.origin);
      if (!outbound.routes(service)) return dispatch(opts, handler);

      // Started now: this is the caller's context; the selection below may settle in another one.
      const call = outbound.start(service);
      const answered = call.trail === undefined ? handler : trailing(handler, call.trail);
      call
        .select()
        .then((selection) => {
          const headers = headerRecord(opts.headers);
          call.inject(headers, RECORD_HEADERS);
          const attempts = call.selected(selection, opts.method, isReplayableBody(opts.body))
            ? retrying(answered, call, (next) => dispatch(routed(opts, next, headers), attempts))
            : answered;
          dispatch(routed(opts, selection, headers), attempts);
        })
        .catch((error: Error) => handler.onError?.(error));
      return true;
    };
}

/**
 * `handler` behind a proxy that, when an attempt fails before any response byte, asks `call` for
 * the next instance and calls `resend` with it instead of reporting the error. undici has two
 * handler interfaces (`onHeaders`/`onError`, and undici 7's `onResponseStart`/`onResponseError`),
 * and tells them apart by the methods present; a proxy keeps the handler's own shape and steps into
 * the calls that say a response started or the attempt failed. Each attempt calls the handler's
 * `onConnect` or `onRequestStart` again, as undici's own redirects do.
 */
function retrying(handler: DispatchHandler, call: OutboundCall, resend: (next: Selection) => void): DispatchHandler {
  let responded = false;
  return new Proxy(handler, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== 'function') return value;
      if (RESPONSE_STARTS.has(key)) {
        return (...args: unknown[]) => {
          if (!responded) call.answered();
          responded = true;
          return value.apply(target, args);
        };
      }
      if (key === 'onError' || key === 'onResponseError') {
        return (...args: unknown[]) => {
          const error = args[args.length - 1];
          const next = responded ? undefined : call.retryAfter(error);
          if (next === undefined) {
            // fetch rejects with its TypeError, the error passed here as its cause.
            if (!responded) args[args.length - 1] = call.failure(error);
            return value.apply(target, args);
          }
          resend(next);
        };
      }
      return value.bind(target);
    },
  });
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

/** `opts` aimed at the selected instance, with `headers`: a copy of its own with the lane carriers written. */
function routed(opts: Dispatcher.DispatchOptions, selection: Selection, headers: Record<string, unknown>): Dispatcher.DispatchOptions {
  const { host, port } = selection.instance;
  const origin = new URL(String(opts.origin));
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

/**
 * The copy of a request's headers `routed` sends, for the outbound core. Names are kept as the
 * caller gave them, so a carrier header is looked up case-insensitively, and written lower case in
 * place of any other case of its name.
 */
const RECORD_HEADERS: HeaderAccess<Record<string, unknown>> = {
  get(record, name) {
    const value = record[keyOf(record, name) ?? name];
    return typeof value === 'string' || Array.isArray(value) ? (value as string | string[]) : undefined;
  },
  set(record, name, value) {
    const key = keyOf(record, name);
    if (key !== undefined && key !== name) delete record[key];
    record[name] = value;
  },
  delete(record, name) {
    const key = keyOf(record, name);
    if (key !== undefined) delete record[key];
  },
};

/** The key of `record` equal to `name` (lower case) ignoring case; an exact one is found without a scan. */
function keyOf(record: Record<string, unknown>, name: string): string | undefined {
  if (record[name] !== undefined) return name;
  for (const key in record) if (key.length === name.length && key.toLowerCase() === name) return key;
  return undefined;
}
