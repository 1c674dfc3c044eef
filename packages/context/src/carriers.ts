import { ErrorCode, GraylaneError, WireNames } from '@graylane/core';

/** OpenSergo's lane header (the traffic-lane draft); `WireNames.OPENSERGO_TRAFFIC_HEADER`. */
export const OPENSERGO_TRAFFIC_HEADER = WireNames.OPENSERGO_TRAFFIC_HEADER;

/** The W3C baggage key under which MSE's Java agent carries the lane, as a JSON value; `WireNames.MSE_BAGGAGE_KEY`. */
export const MSE_BAGGAGE_KEY = WireNames.MSE_BAGGAGE_KEY;

/**
 * A carrier switch: `true` enables it under its default name, `false` disables it, a string enables
 * it under that name (header names are matched case-insensitively, baggage keys exactly).
 */
export type CarrierSwitch = boolean | string;

/**
 * Where the lane travels on the wire. Inbound, enabled carriers are read in this order and the
 * first valid one wins: `mseTag`, `baggage`, `opensergoHeader`, `opensergoBaggage`, `mseBaggage`,
 * then `headers` in the given order. Outbound, every enabled carrier except `mseBaggage` is written.
 * They are the input of `createCarriers`, which validates them once into the {@link Carriers}
 * value every function and adapter takes.
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

/**
 * Where the lane travels, validated once: made by `createCarriers(options)` (or given by the
 * bootstrap as `graylane.carriers`) and passed as it is to the propagator and to every adapter
 * (`carriers: graylane.carriers`). Its methods are the context functions on these carriers; the
 * free functions (`extractLane`, `injectLane`, ...) are the same on graylane's default carriers.
 * Only `createCarriers` makes one: a plain options object is refused where a `Carriers` is expected.
 */
export interface Carriers {
  /** The options it was made from, frozen. */
  readonly options: Readonly<CarrierOptions>;
}

/** The plan of every {@link Carriers} value made by `createCarriers`. */
const made = new WeakMap<object, CarrierPlan>();

/** Records `plan` as the plan of `carriers` (for `createCarriers` only). */
export function registerCarriers(carriers: Carriers, plan: CarrierPlan): void {
  made.set(carriers, plan);
}

/** The plan of `value` when `createCarriers` made it, else `undefined`. */
export function madePlan(value: unknown): CarrierPlan | undefined {
  return typeof value === 'object' && value !== null ? made.get(value) : undefined;
}

/**
 * The plan of `carriers` (`undefined`: the default carriers), for an adapter or function that is
 * given carriers, at start-up. Throws `GRAYLANE_ERR_CONFIG_INVALID` naming `where` for anything
 * `createCarriers` did not make, carrier options included.
 */
export function planOf(carriers: Carriers | undefined, where: string): CarrierPlan {
  if (carriers === undefined) return DEFAULT_PLAN;
  const plan = madePlan(carriers);
  if (plan !== undefined) return plan;
  throw new GraylaneError(
    ErrorCode.CONFIG_INVALID,
    `${where}: expected carriers made by createCarriers(options) (or graylane.carriers), got ${carriers === null ? 'null' : typeof carriers === 'object' ? 'carrier options' : typeof carriers}; wrap the options in createCarriers(...)`,
    { details: { path: where } },
  );
}

/** The `baggage` header. */
export const BAGGAGE_HEADER = WireNames.BAGGAGE_HEADER;

/** An HTTP token (RFC 9110 §5.6.2): what a header name may be. */
export const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const OPTION_KEYS: ReadonlySet<string> = new Set(['mseTag', 'baggage', 'opensergoHeader', 'opensergoBaggage', 'mseBaggage', 'headers', 'checkConflicts']);

/**
 * Resolves carrier options into a {@link CarrierPlan}. Throws {@link ErrorCode.CONFIG_INVALID} when
 * a name is not an HTTP token or an option is not one a carrier takes: a configuration error.
 */
export function resolvePlan(options: CarrierOptions): CarrierPlan {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalid('carriers', options, 'expected an object of carrier options');
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) throw invalid(key, (options as Record<string, unknown>)[key], `not a carrier option (known: ${[...OPTION_KEYS].join(', ')})`);
  }
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
  if (options.headers !== undefined && !Array.isArray(options.headers)) throw invalid('headers', options.headers, 'expected an array of header names');
  (options.headers ?? []).forEach((name, i) => header(nameOf(name, false, '', `headers[${i}]`)));

  if (writeHeaders.includes(BAGGAGE_HEADER)) {
    throw invalid('headers', BAGGAGE_HEADER, 'the baggage header is W3C baggage; use the baggage carriers');
  }
  const fields = read.some((c) => c.kind === 'baggage') ? [...writeHeaders, BAGGAGE_HEADER] : writeHeaders;
  const baggagePrefixes = writeBaggage.map((key) => `${encodeURIComponent(key)}=`);
  const readBaggage = read.flatMap((c) => (c.kind === 'baggage' ? [c.key] : []));
  return { read, writeHeaders, writeBaggage, readBaggage, baggagePrefixes, fields, checkConflicts: options.checkConflicts === true };
}

/** The plan of graylane's default carriers. */
export const DEFAULT_PLAN: CarrierPlan = resolvePlan({});

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
