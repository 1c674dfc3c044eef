import { diag } from '@opentelemetry/api';
import { ErrorCode, GraylaneError, WireNames } from '@graylane/core';

/** OpenSergo's lane header (the traffic-lane draft). */
export const OPENSERGO_TRAFFIC_HEADER = 'x-opensergo-traffic';

/** The W3C baggage key under which MSE's Java agent carries the lane, as a JSON value. */
export const MSE_BAGGAGE_KEY = '__microservice_tag__';

/**
 * A carrier switch: `true` enables it under its default name, `false` disables it, a string enables
 * it under that name (header names are matched case-insensitively, baggage keys exactly).
 */
export type CarrierSwitch = boolean | string;

/**
 * Where the lane travels on the wire. Inbound, enabled carriers are read in this order and the
 * first valid one wins: `mseTag`, `baggage`, `opensergoHeader`, `opensergoBaggage`, `mseBaggage`,
 * then `headers` in the given order. Outbound, every enabled carrier except `mseBaggage` is written.
 * Resolved options are cached per object: pass the same object on every call.
 */
export interface CarrierOptions {
  /** MSE's lane header, `x-mse-tag`. Default on. */
  readonly mseTag?: CarrierSwitch;
  /** graylane's W3C baggage entry, key `lane`. Default on. */
  readonly baggage?: CarrierSwitch;
  /** OpenSergo's lane header, `x-opensergo-traffic`. Default off. */
  readonly opensergoHeader?: CarrierSwitch;
  /** OpenSergo gen-1 W3C baggage entry, key `OpenSergo-Label`. Default off. */
  readonly opensergoBaggage?: CarrierSwitch;
  /**
   * MSE's agent baggage entry, key `__microservice_tag__`, read only (its value is JSON: a string,
   * or an object whose `tag` is the lane). Default on.
   */
  readonly mseBaggage?: CarrierSwitch;
  /** Further lane headers, read after every other carrier and written like them. Default none. */
  readonly headers?: readonly string[];
  /**
   * Read every enabled carrier and report (through `diag.debug`) those that disagree with the
   * winner. Off by default: extraction stops at the first valid carrier, so that a request carrying
   * `x-mse-tag` never pays for decoding its `baggage` header.
   */
  readonly checkConflicts?: boolean;
}

/** One enabled carrier, resolved. */
export type Carrier =
  | { readonly kind: 'header'; readonly name: string }
  | { readonly kind: 'baggage'; readonly key: string; readonly json: boolean };

/** {@link CarrierOptions} resolved once: what to read, in order, and what to write. */
export interface CarrierPlan {
  /** Enabled carriers in precedence order. */
  readonly read: readonly Carrier[];
  /** Lower-case header names written with the bare lane. */
  readonly writeHeaders: readonly string[];
  /** Baggage keys written with the lane (and removed for the base lane). */
  readonly writeBaggage: readonly string[];
  /** Baggage keys read, in precedence order. */
  readonly readBaggage: readonly string[];
  /** `writeBaggage` keys percent-encoded as OpenTelemetry's codec writes them, each followed by `=`. */
  readonly baggagePrefixes: readonly string[];
  /** Whether extraction reads past the winner to report conflicts. */
  readonly checkConflicts: boolean;
  /** Every header name the plan reads or writes, for `TextMapPropagator.fields()`. */
  readonly fields: readonly string[];
}

/** The `baggage` header. */
export const BAGGAGE_HEADER = 'baggage';

/** An HTTP token (RFC 9110 §5.6.2): what a header name may be. */
export const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const plans = new WeakMap<CarrierOptions, CarrierPlan>();

/** The plan of graylane's default carriers. */
export const DEFAULT_PLAN: CarrierPlan = resolvePlan({});

/**
 * Resolves (and caches per options object) a {@link CarrierPlan}. Throws
 * {@link ErrorCode.CONFIG_INVALID} when a name is not an HTTP token: a configuration error.
 */
export function carrierPlan(options: CarrierOptions | undefined): CarrierPlan {
  if (options === undefined) return DEFAULT_PLAN;
  let plan = plans.get(options);
  if (plan === undefined) {
    plan = resolvePlan(options);
    plans.set(options, plan);
  }
  return plan;
}

/**
 * Like {@link carrierPlan}, for the request path: invalid options are reported once and the
 * defaults used in their place.
 */
export function safePlan(options: CarrierOptions | undefined): CarrierPlan {
  if (options === undefined) return DEFAULT_PLAN;
  try {
    return carrierPlan(options);
  } catch (error) {
    diag.error('graylane: invalid carrier options; using the default carriers', error);
    plans.set(options, DEFAULT_PLAN);
    return DEFAULT_PLAN;
  }
}

function resolvePlan(options: CarrierOptions): CarrierPlan {
  const read: Carrier[] = [];
  const writeHeaders: string[] = [];
  const writeBaggage: string[] = [];
  const header = (name: string | undefined): void => {
    if (name === undefined) return;
    const lower = name.toLowerCase();
    if (writeHeaders.includes(lower)) return;
    read.push({ kind: 'header', name: lower });
    writeHeaders.push(lower);
  };
  const baggage = (key: string | undefined, write: boolean, json: boolean): void => {
    if (key === undefined || read.some((c) => c.kind === 'baggage' && c.key === key)) return;
    read.push({ kind: 'baggage', key, json });
    if (write) writeBaggage.push(key);
  };

  header(nameOf(options.mseTag, true, WireNames.MSE_TAG_HEADER, 'mseTag'));
  baggage(nameOf(options.baggage, true, WireNames.BAGGAGE_KEY, 'baggage'), true, false);
  header(nameOf(options.opensergoHeader, false, OPENSERGO_TRAFFIC_HEADER, 'opensergoHeader'));
  baggage(nameOf(options.opensergoBaggage, false, WireNames.OPENSERGO_METADATA, 'opensergoBaggage'), true, false);
  baggage(nameOf(options.mseBaggage, true, MSE_BAGGAGE_KEY, 'mseBaggage'), false, true);
  (options.headers ?? []).forEach((name, i) => header(nameOf(name, false, '', `headers[${i}]`)));

  if (writeHeaders.includes(BAGGAGE_HEADER)) {
    throw invalid('headers', BAGGAGE_HEADER, 'the baggage header is W3C baggage; use the baggage carriers');
  }
  const fields = read.some((c) => c.kind === 'baggage') ? [...writeHeaders, BAGGAGE_HEADER] : writeHeaders;
  const baggagePrefixes = writeBaggage.map((key) => `${encodeURIComponent(key)}=`);
  const readBaggage = read.flatMap((c) => (c.kind === 'baggage' ? [c.key] : []));
  return { read, writeHeaders, writeBaggage, readBaggage, baggagePrefixes, fields, checkConflicts: options.checkConflicts === true };
}

function nameOf(value: CarrierSwitch | undefined, byDefault: boolean, name: string, option: string): string | undefined {
  const on = value ?? byDefault;
  if (on === false) return undefined;
  if (on === true) return name;
  if (typeof on !== 'string' || !HTTP_TOKEN.test(on)) throw invalid(option, on, 'expected true, false or a header/baggage name (an HTTP token)');
  return on;
}

function invalid(option: string, value: unknown, reason: string): GraylaneError {
  return new GraylaneError(ErrorCode.CONFIG_INVALID, `graylane carriers: ${option} = ${JSON.stringify(value)}: ${reason}`, {
    details: { option, value },
  });
}
