import { diag } from '@opentelemetry/api';
import { MAX_BAGGAGE_LENGTH, baggageText, decodeBaggage, encodeBaggage, mayHoldKeys } from './baggage.js';
import { BAGGAGE_HEADER, safePlan } from './carriers.js';
import type { CarrierOptions } from './carriers.js';
import { findKey, headerValue } from './inject.js';

/**
 * Removes every lane carrier enabled by `carriers` from `headers` (a plain object, such as Node's
 * `IncomingHttpHeaders`): the lane headers, and the lane entries of the `baggage` header, read-only
 * ones such as MSE's `__microservice_tag__` included. Other baggage entries are kept; a `baggage`
 * header left empty is removed, and one too long to decode safely (over the W3C limit) that may hold
 * a lane entry is removed whole. Header names are matched case-insensitively. Never throws.
 *
 * Entries call it on requests from clients they do not trust, so that neither the service nor the
 * calls it makes see a lane the client chose.
 */
export function stripLaneCarriers(headers: Record<string, unknown>, carriers?: CarrierOptions): void {
  const plan = safePlan(carriers);
  removeCarriers(headers, plan.writeHeaders, plan.readBaggage);
}

/**
 * Removes the headers `names` (lower-case) and the baggage entries `baggageKeys` from `headers`, as
 * {@link stripLaneCarriers} describes. Never throws.
 */
export function removeCarriers(headers: Record<string, unknown>, names: readonly string[], baggageKeys: readonly string[]): void {
  try {
    for (const name of names) {
      const key = findKey(headers, name);
      if (key !== undefined) delete headers[key];
    }
    const key = findKey(headers, BAGGAGE_HEADER);
    if (key === undefined || baggageKeys.length === 0) return;
    const text = baggageText(headerValue(headers[key]));
    if (text === undefined || !mayHoldKeys(text, baggageKeys)) return;
    if (text.length > MAX_BAGGAGE_LENGTH) {
      diag.debug(`graylane: removing a ${text.length}-character baggage header that may carry a lane`);
      delete headers[key];
      return;
    }
    const baggage = decodeBaggage(text, baggageKeys);
    if (baggage !== undefined && baggageKeys.every((entry) => baggage.getEntry(entry) === undefined)) return;
    const kept = baggage && encodeBaggage(baggage.removeEntries(...baggageKeys));
    if (kept === undefined) delete headers[key];
    else headers[key] = kept;
  } catch (error) {
    diag.warn('graylane: could not remove the lane carriers of a request', error);
  }
}
