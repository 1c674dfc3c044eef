import { getAdapter } from 'axios';
import type { AxiosAdapter, AxiosHeaders, AxiosInstance, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import { TRAIL_HEADER } from '@graylane/context';
import type { LaneTrail } from '@graylane/context';
import { createOutbound, isReplayableBody } from '@graylane/outbound';
import type { HeaderAccess, OutboundCall, OutboundOptions, RetryOptions } from '@graylane/outbound';
import type { Selection } from '@graylane/router';

/** Options of {@link attachLaneRouting}: graylane's outbound options (see `OutboundOptions` in `@graylane/outbound`). */
export interface AxiosLaneOptions extends OutboundOptions {
  /**
   * Retries of a call whose instance could not be reached (connection refused or not made, or
   * reset before any response byte) on another instance of the lane, then along its fallback
   * chain. Default: up to 2 retries of GET, HEAD, OPTIONS, PUT, DELETE and TRACE whose body is
   * none, a string or bytes. `false` turns retries off.
   */
  readonly retry?: RetryOptions | false;
}

declare module 'axios' {
  interface AxiosRequestConfig {
    /**
     * Set by graylane on requests it routed: the instance that was called and any fallback taken;
     * after retries, the last instance tried.
     */
    graylane?: Selection;
  }
}

/**
 * Makes an axios instance lane-aware. A request whose URL host is a service name (`http://b/hello`)
 * is sent to an instance of that service in the current request's lane, or along the lane's
 * fallback chain to base; the lane carriers (`x-mse-tag`, baggage, ...) are written so the callee
 * keeps the lane. Requests to other hosts are left alone.
 *
 * When no instance qualifies, the request fails with graylane's typed error
 * (`GRAYLANE_ERR_NO_INSTANCE` or `GRAYLANE_ERR_STRICT_LANE`) naming the service and the lane.
 * An idempotent call whose instance cannot be reached is retried on the next one (see
 * {@link AxiosLaneOptions.retry}); when none is left, it fails with the last connection error, as
 * axios reports it. Each selection is recorded on the active span (`graylane.*` attributes). When
 * the calling request has a debug trail (see `TRAIL_HEADER` in `@graylane/context`), the callee's
 * trail header, from a success or an error response, is added to it.
 *
 * @returns a function that removes the interceptors.
 * @throws GraylaneError `GRAYLANE_ERR_CONFIG_INVALID` when `retry` is invalid.
 * @example
 * ```ts
 * const http = axios.create();
 * attachLaneRouting(http, { router: graylane.router });
 * await http.get('http://b/b'); // picks a B instance in the request's lane
 * ```
 */
export function attachLaneRouting(instance: AxiosInstance, options: AxiosLaneOptions): () => void {
  // Invalid carriers (anything createCarriers did not make) fail here, at start-up.
  const outbound = createOutbound(options, { retriesResets: true });
  /** The debug trail of the request each routed config was made in, when it has one. */
  const trails = new WeakMap<InternalAxiosRequestConfig, LaneTrail>();

  // Not async: axios chains what an interceptor returns, so a selection made at once (the router
  // has the service's list, the usual case) costs no promise turn; only a first call waits.
  function route(config: InternalAxiosRequestConfig): InternalAxiosRequestConfig | Promise<InternalAxiosRequestConfig> {
    const target = targetOf(config);
    if (target === undefined || !outbound.routes(target.hostname)) return config;

    const call = outbound.start(target.hostname);
    if (call.trail !== undefined) trails.set(config, call.trail);
    const now = call.selectNow();
    return now !== undefined ? routed(config, target, call, now) : call.select().then((selection) => routed(config, target, call, selection));
  }

  function routed(config: InternalAxiosRequestConfig, target: Target, call: OutboundCall, selection: Selection): InternalAxiosRequestConfig {
    aim(config, target, selection);
    config.baseURL = undefined;
    call.inject(config.headers, AXIOS_HEADERS);
    if (call.selected(selection, config.method)) config.adapter = retrying(config.adapter, target, call);
    return config;
  }

  /**
   * The request's adapter, made to send the request again, to the next instance, when an attempt
   * could not reach its instance, and to tell the router of each attempt's outcome. Retrying here,
   * below axios's interceptors and transforms, sends the very request axios prepared: the user's
   * interceptors run once and see one outcome.
   */
  function retrying(adapter: InternalAxiosRequestConfig['adapter'], target: Target, call: OutboundCall): AxiosAdapter {
    return async (config) => {
      const send = getAdapter(adapter ?? instance.defaults.adapter);
      for (;;) {
        let response: AxiosResponse;
        try {
          response = await send(config);
        } catch (error) {
          if (answered(error)) {
            call.answered();
            throw error;
          }
          const next = call.retryAfter(error, isReplayableBody(config.data));
          if (next === undefined) throw call.failure(error);
          aim(config, target, next);
          continue;
        }
        call.answered();
        return response;
      }
    };
  }

  /** Adds the callee's trail to the caller's, for a response to a routed request made with a trail. */
  function collectTrail(response: AxiosResponse | undefined): void {
    if (response === undefined) return;
    const value: unknown = response.headers[TRAIL_HEADER];
    if (typeof value === 'string') trails.get(response.config)?.add(value);
  }

  const requestId = instance.interceptors.request.use(route);
  const responseId = instance.interceptors.response.use(
    (response) => {
      collectTrail(response);
      return response;
    },
    (error: unknown) => {
      collectTrail((error as { response?: AxiosResponse }).response);
      throw error;
    },
  );
  return () => {
    instance.interceptors.request.eject(requestId);
    instance.interceptors.response.eject(responseId);
  };
}

/** Points `config` at the selected instance, keeping `target`'s path and query, and records the selection. */
/**
 * A request's absolute URL taken apart once, so that each attempt's URL is one concatenation:
 * `prefix` is the scheme, `//` and any user info; `rest` the path, query and fragment.
 */
interface Target {
  readonly prefix: string;
  /** Lower case, as `URL` gives it. */
  readonly hostname: string;
  readonly rest: string;
}

function aim(config: InternalAxiosRequestConfig, target: Target, selection: Selection): void {
  const { host, port } = selection.instance;
  config.url = `${target.prefix}${host.includes(':') ? `[${host}]` : host}:${port}${target.rest}`;
  config.graylane = selection;
}

/**
 * True when any byte of a response arrived before the attempt failed: axios sets `response` once
 * the headers arrived; older versions leave it out when the body fails, but Node's request then
 * holds the response (`res`). Such an attempt is never retried.
 */
function answered(error: unknown): boolean {
  const { response, request } = error as { response?: unknown; request?: { res?: unknown } };
  return response !== undefined || request?.res != null;
}

const ABSOLUTE_URL = /^([a-z][a-z\d+\-.]*:)?\/\//i;
/**
 * The common shape, `http(s)://name[:port][/path...]` with an ASCII host name, read without
 * building a `URL` (URL parsing and re-serialising was a fifth of the interceptor's time). Anything
 * else (user info, IP literals in brackets, non-ASCII hosts) goes through `URL`.
 */
const PLAIN_URL = /^(https?:\/\/)([a-z0-9][a-z0-9.-]*)(?::\d{1,5})?(?=[/?#]|$)/i;

/**
 * The absolute URL a config points at, joined the way axios joins `baseURL` and `url`, or
 * `undefined` when there is none (a relative URL without base, a malformed URL).
 */
function targetOf(config: InternalAxiosRequestConfig): Target | undefined {
  const url = config.url ?? '';
  const base = config.baseURL;
  const full = base && !ABSOLUTE_URL.test(url) ? `${base.replace(/\/+$/, '')}/${url.replace(/^\/+/, '')}` : url;
  const plain = PLAIN_URL.exec(full);
  if (plain !== null) {
    const rest = full.slice(plain[0].length);
    return { prefix: plain[1]!.toLowerCase(), hostname: plain[2]!.toLowerCase(), rest: rest[0] === '/' ? rest : `/${rest}` };
  }
  let parsed: URL;
  try {
    parsed = new URL(full);
  } catch {
    return undefined;
  }
  const user = parsed.username === '' ? '' : `${parsed.username}${parsed.password === '' ? '' : `:${parsed.password}`}@`;
  return { prefix: `${parsed.protocol}//${user}`, hostname: parsed.hostname, rest: `${parsed.pathname}${parsed.search}${parsed.hash}` };
}

/** axios's request headers, for the outbound core: `AxiosHeaders` matches names case-insensitively. */
const AXIOS_HEADERS: HeaderAccess<AxiosHeaders> = {
  get(headers, name) {
    const value = headers.get(name);
    return typeof value === 'string' ? value : undefined;
  },
  set: (headers, name, value) => void headers.set(name, value),
  delete: (headers, name) => void headers.delete(name),
};
