import { ROOT_CONTEXT, propagation } from '@opentelemetry/api';
import type { Baggage, TextMapGetter } from '@opentelemetry/api';
import { W3CBaggagePropagator } from '@opentelemetry/core';

/** W3C limit on a whole `baggage` header (https://www.w3.org/TR/baggage/#limits). */
export const MAX_BAGGAGE_LENGTH = 8192;

/** OpenTelemetry's W3C baggage codec; graylane never parses or writes baggage by hand. */
export const w3cBaggage = new W3CBaggagePropagator();

const stringSetter = { set: (carrier: { baggage?: string }, _key: string, value: string) => (carrier.baggage = value) };

/**
 * The `baggage` header of `carrier` decoded with OpenTelemetry's codec, or `undefined` when it is
 * absent, empty, or longer than {@link MAX_BAGGAGE_LENGTH} (then `onOversized` is called).
 */
export function readBaggage<C>(
  carrier: C,
  getter: TextMapGetter<C>,
  onOversized: (length: number) => void,
): Baggage | undefined {
  const raw = getter.get(carrier, 'baggage');
  if (raw === undefined) return undefined;
  const length = typeof raw === 'string' ? raw.length : raw.reduce((sum, part) => sum + part.length + 1, -1);
  if (length > MAX_BAGGAGE_LENGTH) {
    onOversized(length);
    return undefined;
  }
  return propagation.getBaggage(w3cBaggage.extract(ROOT_CONTEXT, carrier, getter));
}

/** `baggage` serialised by OpenTelemetry's codec; `undefined` when it has no entries. */
export function writeBaggage(baggage: Baggage): string | undefined {
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
