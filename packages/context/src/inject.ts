import { diag } from '@opentelemetry/api';
import { MAX_BAGGAGE_LENGTH, baggageText, decodeBaggage, encodeBaggage, mayHoldKeys, withLaneEntries } from './baggage.js';
import { BAGGAGE_HEADER, DEFAULT_PLAN } from './carriers.js';
import type { CarrierPlan } from './carriers.js';
import { laneOrBase } from './lane.js';

/**
 * Writes `lane` into outbound `headers` (a plain object: Node `OutgoingHttpHeaders`, message
 * headers) under every writable carrier (graylane's default ones; others: `carriers.injectLane`). The lane entries are merged into an existing
 * `baggage` header: a previous lane entry is replaced, other entries are kept, repeated headers
 * become one. For the base lane (`undefined`, `'base'` or an invalid lane) graylane's carriers are removed
 * and nothing is written. Header names are matched case-insensitively. Never throws.
 */
export function injectLane(headers: Record<string, unknown>, lane: string | undefined): void {
  injectLaneWith(DEFAULT_PLAN, headers, lane);
}

/** {@link injectLane} on the carriers of `plan`. */
export function injectLaneWith(plan: CarrierPlan, headers: Record<string, unknown>, lane: string | undefined): void {
  try {
    const value = laneOrBase(lane, 'injectLane');
    for (const name of plan.writeHeaders) {
      const key = findKey(headers, name);
      if (key !== undefined && (value === undefined || key !== name)) delete headers[key];
      if (value !== undefined) headers[name] = value;
    }
    if (plan.writeBaggage.length > 0) mergeBaggage(headers, value, plan);
  } catch (error) {
    diag.warn('graylane: could not write the lane into outbound headers', error);
  }
}

/**
 * Brings the `baggage` header in line with `lane`. Entries are appended as OpenTelemetry's codec
 * writes them (`encodeURIComponent(key)=lane`; lane names need no encoding) when the header cannot
 * already hold a lane entry; otherwise the header is decoded, updated and encoded by the codec.
 */
function mergeBaggage(headers: Record<string, unknown>, lane: string | undefined, plan: CarrierPlan): void {
  const key = findKey(headers, BAGGAGE_HEADER) ?? BAGGAGE_HEADER;
  const raw = headerValue(headers[key]);
  const text = baggageText(raw)?.trim();
  if (!text || !mayHoldKeys(text, plan.writeBaggage)) {
    if (lane === undefined) return;
    const merged = text ? `${text},${laneEntries(plan, lane)}` : laneEntries(plan, lane);
    if (merged.length <= MAX_BAGGAGE_LENGTH) headers[key] = merged;
    else diag.debug(`graylane: outbound baggage would exceed ${MAX_BAGGAGE_LENGTH} characters; lane entries not written`);
    return;
  }
  if (text.length > MAX_BAGGAGE_LENGTH) {
    diag.debug(`graylane: outbound baggage exceeds ${MAX_BAGGAGE_LENGTH} characters; left as it is`);
    return;
  }
  const current = decodeBaggage(text, plan.writeBaggage);
  const next = withLaneEntries(current, lane, plan.writeBaggage);
  if (next === current && raw === text) return;
  const encoded = next && encodeBaggage(next);
  if (encoded === undefined) delete headers[key];
  else headers[key] = encoded;
}

function laneEntries(plan: CarrierPlan, lane: string): string {
  const prefixes = plan.baggagePrefixes;
  return prefixes.length === 1 ? `${prefixes[0]}${lane}` : prefixes.map((prefix) => prefix + lane).join(',');
}

/** A header value as text: strings and string arrays as they are, `Buffer`s (Kafka headers) decoded as UTF-8. */
export function headerValue(value: unknown): string | string[] | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
  if (Array.isArray(value)) return value.filter((part): part is string => typeof part === 'string');
  return undefined;
}

/** The key of `headers` equal to `lowerName` ignoring case; exact lower-case keys are found without a scan. */
export function findKey(headers: Record<string, unknown>, lowerName: string): string | undefined {
  if (headers[lowerName] !== undefined) return lowerName;
  for (const key in headers) {
    if (key.length === lowerName.length && key.toLowerCase() === lowerName && headers[key] !== undefined) return key;
  }
  return undefined;
}
