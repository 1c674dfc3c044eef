import { ROOT_CONTEXT, defaultTextMapGetter, diag, propagation } from '@opentelemetry/api';
import type { Baggage } from '@opentelemetry/api';
import { W3CBaggagePropagator } from '@opentelemetry/core';

/** W3C limit on a whole `baggage` header (https://www.w3.org/TR/baggage/#limits). */
export const MAX_BAGGAGE_LENGTH = 8192;

/** OpenTelemetry's W3C baggage codec: graylane decodes and encodes baggage only through it. */
export const w3cBaggage = new W3CBaggagePropagator();

const stringSetter = { set: (carrier: { baggage?: string }, _key: string, value: string) => (carrier.baggage = value) };

/** A `baggage` header value as one string; repeated headers are joined, as W3C allows. */
export function baggageText(raw: string | string[] | undefined): string | undefined {
  return typeof raw === 'string' || raw === undefined ? raw : raw.join(',');
}

/**
 * False when `text` cannot hold an entry for any of `keys`: none appears literally and nothing is
 * percent-encoded. Lets the common cases skip decoding the header.
 */
export function mayHoldKeys(text: string, keys: readonly string[]): boolean {
  if (text.includes('%')) return true;
  for (const key of keys) if (text.includes(key)) return true;
  return false;
}

/**
 * The baggage of a `baggage` header, decoded only when it may hold one of `keys`; `undefined` when
 * it is absent, holds none of them, or exceeds {@link MAX_BAGGAGE_LENGTH} (reported, then ignored).
 */
export function decodeBaggage(raw: string | string[] | undefined, keys: readonly string[]): Baggage | undefined {
  const text = baggageText(raw);
  if (text === undefined || !mayHoldKeys(text, keys)) return undefined;
  if (text.length > MAX_BAGGAGE_LENGTH) {
    diag.debug(`graylane: ignoring the baggage header: ${text.length} characters exceeds the W3C limit`);
    return undefined;
  }
  return propagation.getBaggage(w3cBaggage.extract(ROOT_CONTEXT, { baggage: text }, defaultTextMapGetter));
}

/** `baggage` encoded by OpenTelemetry's codec; `undefined` when it has no entries. */
export function encodeBaggage(baggage: Baggage): string | undefined {
  const out: { baggage?: string } = {};
  w3cBaggage.inject(propagation.setBaggage(ROOT_CONTEXT, baggage), out, stringSetter);
  return out.baggage;
}

/**
 * `baggage` with every key of `keys` set to `lane`, or removed for the base lane. Returns the same
 * object when nothing changes, so callers can skip work; `undefined` only when there is no baggage
 * and nothing to add.
 */
export function withLaneEntries(
  baggage: Baggage | undefined,
  lane: string | undefined,
  keys: readonly string[],
): Baggage | undefined {
  let result = baggage;
  for (const key of keys) {
    const entry = result?.getEntry(key);
    if (lane === undefined) {
      if (entry !== undefined) result = result?.removeEntry(key);
    } else if (entry?.value !== lane) {
      result = (result ?? propagation.createBaggage()).setEntry(key, { value: lane });
    }
  }
  return result;
}
