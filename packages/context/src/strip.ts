import { diag } from '@opentelemetry/api';
import { baggageText, baggageWithout } from './baggage.js';
import { BAGGAGE_HEADER, DEFAULT_PLAN } from './carriers.js';
import type { CarrierPlan } from './carriers.js';
import { findKey, headerValue } from './inject.js';

/**
 * Removes every lane carrier of graylane's defaults (other carriers: `carriers.stripLaneCarriers`)
 * from `headers` (a plain object, such as Node's
 * `IncomingHttpHeaders`): the lane headers, and the lane entries of the `baggage` header, read-only
 * ones such as MSE's `__microservice_tag__` included, whatever their letter case or percent-encoding.
 * Other baggage members are kept as sent, within the W3C limits (members past them are dropped); a
 * `baggage` header left empty is removed. Header names are matched case-insensitively. Never throws.
 *
 * Entries call it on requests from clients they do not trust, so that neither the service nor the
 * calls it makes see a lane the client chose.
 */
export function stripLaneCarriers(headers: Record<string, unknown>): void {
  stripLaneCarriersWith(DEFAULT_PLAN, headers);
}

/** {@link stripLaneCarriers} on the carriers of `plan`. */
export function stripLaneCarriersWith(plan: CarrierPlan, headers: Record<string, unknown>): void {
  removeCarriers(headers, plan.writeHeaders, plan.readBaggage);
}

/**
 * Removes the headers `names` (lower-case, in any letter case) and the baggage members `baggageKeys`
 * from `headers`, as {@link stripLaneCarriers} describes: every member is read, whatever the
 * header's size, its member count or how many `baggage` lines it came in (see {@link baggageWithout}).
 * Never throws.
 */
export function removeCarriers(headers: Record<string, unknown>, names: readonly string[], baggageKeys: readonly string[]): void {
  try {
    for (const name of names) deleteHeader(headers, name);
    if (baggageKeys.length === 0) return;
    const key = findKey(headers, BAGGAGE_HEADER);
    if (key === undefined) return;
    const text = baggageText(headerValue(headers[key]));
    // Case variants of the header (possible in a plain object) are folded into one.
    deleteHeader(headers, BAGGAGE_HEADER);
    if (text === undefined) return;
    const filtered = baggageWithout(text, baggageKeys);
    if (filtered.dropped > 0) {
      diag.debug(`graylane: dropped ${filtered.dropped} malformed or over-limit baggage members of a request`);
    }
    if (filtered.text !== undefined) headers[key] = filtered.text;
  } catch (error) {
    diag.warn('graylane: could not remove the lane carriers of a request', error);
  }
}

/** Deletes every key of `headers` equal to `lowerName` ignoring case. */
function deleteHeader(headers: Record<string, unknown>, lowerName: string): void {
  delete headers[lowerName];
  for (const key in headers) if (key.length === lowerName.length && key.toLowerCase() === lowerName) delete headers[key];
}
