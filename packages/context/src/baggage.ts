import { ROOT_CONTEXT, defaultTextMapGetter, diag, propagation } from '@opentelemetry/api';
import type { Baggage } from '@opentelemetry/api';
import { W3CBaggagePropagator } from '@opentelemetry/core';

/** W3C limit on a whole `baggage` header (https://www.w3.org/TR/baggage/#limits). */
export const MAX_BAGGAGE_LENGTH = 8192;
/** W3C limit on the members of a `baggage` header; OpenTelemetry's codec ignores members past it. */
export const MAX_BAGGAGE_MEMBERS = 180;
/** W3C limit on one member (`key=value;properties`); OpenTelemetry's codec ignores longer ones. */
export const MAX_BAGGAGE_MEMBER_LENGTH = 4096;

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

/** What {@link baggageWithout} did to a `baggage` header. */
export interface FilteredBaggage {
  /** The header to send on: `undefined` when no member is left. Equal to the input when nothing was dropped. */
  readonly text: string | undefined;
  /** Members removed because their key is one of the keys. */
  readonly removed: number;
  /** Members dropped because they are malformed or past the W3C limits. */
  readonly dropped: number;
}

/**
 * `text` (a whole `baggage` header) without the members whose key is one of `keys`, compared after
 * percent-decoding and ignoring case, so that no baggage reader behind an entry, however lenient,
 * finds one. Unlike the codec, which stops reading at the W3C limits, it reads every member, and it
 * sends on only what stays within them: members past the 180th, longer than 4,096 characters,
 * beyond 8,192 characters in all, without a `=`, or whose key does not decode are dropped. Kept
 * members are sent on as they came (not re-encoded). Linear in the length of `text`.
 */
export function baggageWithout(text: string, keys: readonly string[]): FilteredBaggage {
  const lowerKeys = keys.map((key) => key.toLowerCase());
  const kept: string[] = [];
  let length = 0;
  let removed = 0;
  let dropped = 0;
  for (const part of text.split(',')) {
    const member = part.trim();
    if (member === '') continue;
    const key = memberKey(member);
    if (key !== undefined && lowerKeys.includes(key.toLowerCase())) {
      removed += 1;
    } else if (
      key === undefined ||
      member.length > MAX_BAGGAGE_MEMBER_LENGTH ||
      kept.length === MAX_BAGGAGE_MEMBERS ||
      length + member.length + (kept.length > 0 ? 1 : 0) > MAX_BAGGAGE_LENGTH
    ) {
      dropped += 1;
    } else {
      length += member.length + (kept.length > 0 ? 1 : 0);
      kept.push(member);
    }
  }
  if (removed === 0 && dropped === 0) return { text: kept.length === 0 ? undefined : text, removed, dropped };
  return { text: kept.length === 0 ? undefined : kept.join(','), removed, dropped };
}

/** The percent-decoded key of a baggage member; `undefined` when it has no `=` or does not decode. */
function memberKey(member: string): string | undefined {
  const equals = member.indexOf('=');
  const semicolon = member.indexOf(';');
  if (equals <= 0 || (semicolon >= 0 && semicolon < equals)) return undefined;
  const raw = member.slice(0, equals).trim();
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
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

/** Most lanes whose lane-only baggage is kept per key list; more (a flood of lane names) are built each time. */
const MAX_SHARED_LANES = 256;
const laneOnly = new WeakMap<readonly string[], Map<string, Baggage>>();

function laneOnlyBaggage(keys: readonly string[], lane: string): Baggage {
  let byLane = laneOnly.get(keys);
  if (byLane === undefined) laneOnly.set(keys, (byLane = new Map()));
  let baggage = byLane.get(lane);
  if (baggage === undefined) {
    baggage = propagation.createBaggage(Object.fromEntries(keys.map((key) => [key, { value: lane }])));
    if (byLane.size < MAX_SHARED_LANES) byLane.set(lane, baggage);
  }
  return baggage;
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
  // The usual inbound case, a context without baggage entering a lane: one shared, immutable
  // baggage per lane (OpenTelemetry's Baggage never changes; setEntry returns a new one), so no
  // request allocates it again, and its encoding is remembered once (see the propagator).
  if (baggage === undefined && lane !== undefined && keys.length > 0) return laneOnlyBaggage(keys, lane);
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
