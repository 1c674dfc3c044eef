import { defaultTextMapGetter, diag } from '@opentelemetry/api';
import type { Baggage, TextMapGetter } from '@opentelemetry/api';
import { laneLabel, parseLane } from '@graylane/core';
import { decodeBaggage } from './baggage.js';
import { BAGGAGE_HEADER, DEFAULT_PLAN } from './carriers.js';
import type { Carrier, CarrierPlan } from './carriers.js';

/** Longest lane header value looked at; a lane is at most 63 characters. */
export const MAX_LANE_HEADER_LENGTH = 256;

/** Inbound HTTP headers as Node gives them (`IncomingHttpHeaders`): lower-case names. */
export type InboundHeaders = Readonly<Record<string, string | string[] | undefined>>;

/**
 * The lane carried by inbound `headers`, for middleware: the first valid carrier of graylane's
 * defaults in precedence order (other carriers: `carriers.extractLane`; the order is in
 * `CarrierOptions`); `undefined` for the base lane or when none is
 * present. Malformed, oversized, duplicated and conflicting carriers are ignored with a `diag`
 * message. Never throws.
 */
export function extractLane(headers: InboundHeaders): string | undefined {
  return extractLaneWith(DEFAULT_PLAN, headers);
}

/** {@link extractLane} on the carriers of `plan`. */
export function extractLaneWith(plan: CarrierPlan, headers: InboundHeaders): string | undefined {
  try {
    return readLane(headers, defaultTextMapGetter, plan) ?? undefined;
  } catch (error) {
    diag.warn('graylane: could not read the lane of inbound headers; using the base lane', error);
    return undefined;
  }
}

/**
 * Reads `plan`'s carriers from `carrier` in precedence order. Returns the lane of the first valid
 * carrier (`undefined` when it says base) or `null` when no carrier holds a valid value. With
 * `checkConflicts`, carriers after the winner are read too, and those that disagree are reported.
 */
export function readLane<C>(carrier: C, getter: TextMapGetter<C>, plan: CarrierPlan): string | undefined | null {
  let result: string | undefined | null = null;
  let baggage: Baggage | undefined | null = null;
  for (const source of plan.read) {
    if (result !== null && !plan.checkConflicts) break;
    let raw: string | undefined;
    if (source.kind === 'header') {
      raw = single(getter.get(carrier, source.name), source);
    } else {
      if (baggage === null) baggage = decodeBaggage(getter.get(carrier, BAGGAGE_HEADER), plan.readBaggage);
      raw = baggage?.getEntry(source.key)?.value;
      if (raw !== undefined && source.json) raw = fromJson(raw, source);
    }
    if (raw === undefined || raw === '') continue;
    const lane = parseLane(raw);
    if (lane === null) {
      diag.debug(`graylane: ignoring ${describe(source)}: not a valid lane`);
    } else if (result === null) {
      result = lane;
    } else if (lane !== result) {
      diag.debug(`graylane: ignoring ${describe(source)} (${laneLabel(lane)}): it conflicts with ${laneLabel(result)}`);
    }
  }
  return result;
}

function single(value: string | string[] | undefined, source: Carrier): string | undefined {
  if (typeof value === 'string') {
    if (value.length <= MAX_LANE_HEADER_LENGTH) return value;
    diag.debug(`graylane: ignoring ${describe(source)}: ${value.length} characters`);
    return undefined;
  }
  if (value === undefined) return undefined;
  if (value.length === 1) return single(value[0], source);
  if (value.length > 1) diag.debug(`graylane: ignoring ${describe(source)}: sent ${value.length} times`);
  return undefined;
}

/** MSE's agent writes a JSON value: a string, or an object whose `tag` is the lane. A bare lane is accepted too. */
function fromJson(raw: string, source: Carrier): string | undefined {
  const first = raw.charCodeAt(0);
  if (first !== 0x22 /* " */ && first !== 0x7b /* { */) return raw;
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value === 'string') return value;
    if (typeof value === 'object' && value !== null && typeof (value as { tag?: unknown }).tag === 'string') {
      return (value as { tag: string }).tag;
    }
  } catch {
    // reported below
  }
  diag.debug(`graylane: ignoring ${describe(source)}: not a JSON lane`);
  return undefined;
}

function describe(source: Carrier): string {
  return source.kind === 'header' ? `header ${source.name}` : `baggage entry ${source.key}`;
}
