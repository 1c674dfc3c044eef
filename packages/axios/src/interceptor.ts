import { getAdapter } from 'axios';
import type { AxiosAdapter, AxiosInstance, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import { diag, trace } from '@opentelemetry/api';
import type { Span } from '@opentelemetry/api';
import { LanePropagator, TRAIL_HEADER, getLane, getLaneTrail, injectLane, recordSelection } from '@graylane/context';
import type { CarrierOptions, LaneTrail } from '@graylane/context';
import { compileRetry, isConnectFailure, isConnectionReset, isReplayableBody } from '@graylane/router';
import type { LaneRouter, RetryAttempts, RetryOptions, Selection } from '@graylane/router';

/** Options of {@link attachLaneRouting}. */
export interface AxiosLaneOptions {
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
  const { router, carriers, onSelect } = options;
  const declared = new Set(options.services ?? []);
  const retry = compileRetry(options.retry);
  const carrierFields = new LanePropagator(carriers).fields();
  const carrierScratch: Record<string, unknown> = {};
  /** The debug trail of the request each routed config was made in, when it has one. */
  const trails = new WeakMap<InternalAxiosRequestConfig, LaneTrail>();

  async function route(config: InternalAxiosRequestConfig): Promise<InternalAxiosRequestConfig> {
    const target = targetOf(config);
    if (target === undefined) return config;
    const service = target.hostname;
    if (!router.knows(service) && !declared.has(service)) return config;

    const lane = getLane();
    const span = trace.getActiveSpan();
    const trail = getLaneTrail();
    if (trail !== undefined) trails.set(config, trail);
    const selection = await router.selectAsync(service, lane);
    aim(config, target, selection);
    config.baseURL = undefined;
    writeCarriers(config, lane, carriers, carrierFields, carrierScratch);
    report(selection, span, 0, onSelect);
    if (retry.allows(config.method)) config.adapter = retrying(config.adapter, target, retry.start(selection), span);
    return config;
  }

  /**
   * The request's adapter, made to send the request again, to the next instance, when an attempt
   * could not reach its instance. Retrying here, below axios's interceptors and transforms, sends
   * the very request axios prepared: the user's interceptors run once and see one outcome.
   */
  function retrying(
    adapter: InternalAxiosRequestConfig['adapter'],
    target: URL,
    attempts: RetryAttempts,
    span: Span | undefined,
  ): AxiosAdapter {
    return async (config) => {
      const send = getAdapter(adapter ?? instance.defaults.adapter);
      for (;;) {
        try {
          return await send(config);
        } catch (error) {
          const next = neverAnswered(error) && isReplayableBody(config.data) ? attempts.next(router) : undefined;
          if (next === undefined) throw error;
          aim(config, target, next);
          report(next, span, attempts.retries, onSelect);
        }
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
function aim(config: InternalAxiosRequestConfig, target: URL, selection: Selection): void {
  target.hostname = selection.instance.host;
  target.port = String(selection.instance.port);
  config.url = target.toString();
  config.graylane = selection;
}

/**
 * True when an attempt failed before any byte of a response arrived: the connection could not be
 * made, or was reset before the response. axios sets `response` once the headers arrived; older
 * versions leave it out when the body fails, but Node's request then holds the response (`res`).
 */
function neverAnswered(error: unknown): boolean {
  const { response, request } = error as { response?: unknown; request?: { res?: unknown } };
  if (response !== undefined || request?.res != null) return false;
  return isConnectFailure(error) || isConnectionReset(error);
}

function report(selection: Selection, span: Span | undefined, retries: number, onSelect: AxiosLaneOptions['onSelect']): void {
  if (span !== undefined) recordSelection(selection, span, retries);
  if (!onSelect) return;
  try {
    onSelect(selection);
  } catch (error) {
    diag.warn('graylane: onSelect threw; ignored', error);
  }
}

const ABSOLUTE_URL = /^([a-z][a-z\d+\-.]*:)?\/\//i;

/**
 * The absolute URL a config points at, joined the way axios joins `baseURL` and `url`, or
 * `undefined` when there is none (a relative URL without base, a malformed URL).
 */
function targetOf(config: InternalAxiosRequestConfig): URL | undefined {
  const url = config.url ?? '';
  const base = config.baseURL;
  const full = base && !ABSOLUTE_URL.test(url) ? `${base.replace(/\/+$/, '')}/${url.replace(/^\/+/, '')}` : url;
  try {
    return new URL(full);
  } catch {
    return undefined;
  }
}

/**
 * Writes the lane carriers into axios's headers. graylane's injector works on a plain record, so the
 * carrier headers already set on the request are copied in (to merge `baggage`, and so a stale lane
 * header is removed in the base lane) and the result copied back.
 */
function writeCarriers(
  config: InternalAxiosRequestConfig,
  lane: string | undefined,
  carriers: CarrierOptions | undefined,
  fields: readonly string[],
  scratch: Record<string, unknown>,
): void {
  for (const key in scratch) delete scratch[key];
  for (const field of fields) {
    const value = config.headers.get(field);
    if (typeof value === 'string') scratch[field] = value;
  }
  injectLane(scratch, lane, carriers);
  for (const field of fields) {
    const value = scratch[field];
    if (typeof value === 'string') config.headers.set(field, value);
    else config.headers.delete(field);
  }
}
