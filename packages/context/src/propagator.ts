import { ROOT_CONTEXT, diag, propagation } from '@opentelemetry/api';
import type { Baggage, Context, TextMapGetter, TextMapPropagator, TextMapSetter } from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import { w3cBaggage, withLaneEntries } from './baggage.js';
import { BAGGAGE_HEADER, planOf } from './carriers.js';
import type { CarrierPlan } from './carriers.js';
import type { Carriers } from './carrier-value.js';
import { readLane } from './extract.js';
import { getLane, setLaneWith } from './lane.js';


/** The `baggage` header of each baggage object encoded so far; `null`: it encodes to no header. */
const encoded = new WeakMap<Baggage, string | null>();
const capture = { set: (out: { baggage?: string }, _key: string, value: string) => (out.baggage = value) };

/** `baggage` encoded by OpenTelemetry's W3C codec (limits applied), remembered per object. */
function encodedBaggage(baggage: Baggage): string | undefined {
  const known = encoded.get(baggage);
  if (known !== undefined) return known ?? undefined;
  const out: { baggage?: string } = {};
  w3cBaggage.inject(propagation.setBaggage(ROOT_CONTEXT, baggage), out, capture);
  encoded.set(baggage, out.baggage ?? null);
  return out.baggage;
}

/**
 * True when `carrier` is a plain record whose `baggage` header holds each of `plan`'s lane entries
 * as `key=lane` (none of them for the base lane), with no second value for any of them.
 */
function agrees(carrier: unknown, plan: CarrierPlan, lane: string | undefined): boolean {
  const text = typeof carrier === 'object' && carrier !== null ? (carrier as Record<string, unknown>)[BAGGAGE_HEADER] : undefined;
  if (typeof text !== 'string') return false;
  for (const prefix of plan.baggagePrefixes) {
    const at = memberAt(text, prefix, 0);
    if (lane === undefined) {
      if (at >= 0) return false;
      continue;
    }
    if (at < 0 || memberAt(text, prefix, at + 1) >= 0) return false;
    const end = at + prefix.length + lane.length;
    if (!text.startsWith(lane, at + prefix.length) || (end < text.length && text[end] !== ',' && text[end] !== ';')) return false;
  }
  return true;
}

/** Where a member of `text` starting with `prefix` (`key=`) begins, at or after `from`; -1 if none. */
function memberAt(text: string, prefix: string, from: number): number {
  for (let at = text.indexOf(prefix, from); at >= 0; at = text.indexOf(prefix, at + 1)) {
    if (at === 0 || text[at - 1] === ',') return at;
  }
  return -1;
}

/**
 * An OpenTelemetry `TextMapPropagator` for the lane. Register it next to the SDK's propagators
 * (`new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator(),
 * new LanePropagator()] })`), or use it on its own.
 *
 * Inject writes every enabled lane header, and, when a baggage carrier is enabled, the context's whole
 * W3C baggage with the lane entries brought in line with the lane. Because {@link setLane} keeps the
 * same entries in the context's baggage, a `W3CBaggagePropagator` placed before or after this one
 * writes the same `baggage` header: one header, nothing lost, nothing doubled.
 *
 * Extract reads the carriers in precedence order and sets the lane (and its baggage entries) on the
 * returned context; with no valid carrier the context keeps its lane and stray lane entries that
 * another propagator extracted are brought in line. Neither method throws.
 *
 * The `baggage` header is encoded by OpenTelemetry's codec once per baggage object and remembered
 * (OpenTelemetry's `Baggage` is immutable), so that a request's second and later outbound calls from
 * the same context do not encode it again.
 */
export class LanePropagator implements TextMapPropagator {
  readonly #plan: CarrierPlan;
  readonly #fields: string[];

  /**
   * On `carriers` (default: graylane's defaults); the bootstrap's is `graylane.carriers.propagator`.
   * Throws `GRAYLANE_ERR_CONFIG_INVALID` for anything `createCarriers` did not make.
   */
  constructor(carriers?: Carriers) {
    this.#plan = planOf(carriers, 'LanePropagator(carriers)');
    this.#fields = [...this.#plan.fields];
  }

  inject(ctx: Context, carrier: unknown, setter: TextMapSetter): void {
    try {
      const lane = getLane(ctx);
      if (lane !== undefined) for (const name of this.#plan.writeHeaders) setter.set(carrier, name, lane);
      if (this.#plan.writeBaggage.length === 0) return;
      const baggage = propagation.getBaggage(ctx);
      const synced = withLaneEntries(baggage, lane, this.#plan.writeBaggage);
      // As W3CBaggagePropagator: no baggage, or tracing suppressed, writes no header.
      if (synced === undefined || isTracingSuppressed(ctx)) return;
      // The context's baggage already holds the lane, and the carrier already has a baggage header
      // with exactly these lane entries: W3CBaggagePropagator, registered before this one, wrote
      // that baggage. Encoding it a second time would only write the same header again.
      if (synced === baggage && agrees(carrier, this.#plan, lane)) return;
      const text = encodedBaggage(synced);
      if (text !== undefined) setter.set(carrier, BAGGAGE_HEADER, text);
    } catch (error) {
      diag.warn('graylane: could not inject the lane', error);
    }
  }

  extract(ctx: Context, carrier: unknown, getter: TextMapGetter): Context {
    try {
      const lane = readLane(carrier, getter, this.#plan);
      return setLaneWith(this.#plan, ctx, lane === null ? getLane(ctx) : lane);
    } catch (error) {
      diag.warn('graylane: could not extract the lane', error);
      return ctx;
    }
  }

  fields(): string[] {
    return this.#fields;
  }
}
