import type { AxiosInstance, InternalAxiosRequestConfig } from 'axios';
import { diag } from '@opentelemetry/api';
import { LanePropagator, getLane, injectLane } from '@graylane/context';
import type { CarrierOptions } from '@graylane/context';
import type { LaneRouter, Selection } from '@graylane/router';

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
  /** Called with every selection, e.g. to log fallbacks. Errors it throws are logged and ignored. */
  readonly onSelect?: (selection: Selection) => void;
}

declare module 'axios' {
  interface AxiosRequestConfig {
    /** Set by graylane on requests it routed: the instance picked and any fallback taken. */
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
 *
 * @returns a function that removes the interceptor.
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
  const carrierFields = new LanePropagator(carriers).fields();
  const carrierScratch: Record<string, unknown> = {};

  async function route(config: InternalAxiosRequestConfig): Promise<InternalAxiosRequestConfig> {
    const target = targetOf(config);
    if (target === undefined) return config;
    const service = target.hostname;
    if (!router.knows(service) && !declared.has(service)) return config;

    const lane = getLane();
    const selection = await router.selectAsync(service, lane);
    target.hostname = selection.instance.host;
    target.port = String(selection.instance.port);
    config.url = target.toString();
    config.baseURL = undefined;
    config.graylane = selection;

    writeCarriers(config, lane, carriers, carrierFields, carrierScratch);
    if (onSelect) {
      try {
        onSelect(selection);
      } catch (error) {
        diag.warn('graylane: onSelect threw; ignored', error);
      }
    }
    return config;
  }

  const id = instance.interceptors.request.use(route);
  return () => instance.interceptors.request.eject(id);
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
