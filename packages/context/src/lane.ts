import type { EventEmitter } from 'node:events';
import { context, createContextKey, diag, propagation } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import { parseLane } from '@graylane/core';
import { withLaneEntries } from './baggage.js';
import { DEFAULT_PLAN } from './carriers.js';
import type { CarrierPlan } from './carriers.js';

/**
 * The OpenTelemetry context key under which graylane keeps the lane. `createContextKey` is built on
 * `Symbol.for`, so two installed copies of this package share it.
 */
export const LANE_KEY: symbol = createContextKey('graylane.lane');

/** The lane of `ctx` (default: the active context); `undefined` means the base lane. */
export function getLane(ctx: Context = context.active()): string | undefined {
  const lane = ctx.getValue(LANE_KEY);
  return typeof lane === 'string' ? lane : undefined;
}

/**
 * A copy of `ctx` in `lane` (`undefined` or `'base'`: the base lane). The lane is mirrored into the
 * context's OpenTelemetry baggage under the writable baggage keys of the carriers (graylane's
 * default: `lane`; other carriers: `carriers.setLane`), so that a `W3CBaggagePropagator` writes it
 * even when it runs without graylane's propagator. An invalid lane is reported through `diag` and
 * treated as the base lane; never throws.
 */
export function setLane(ctx: Context, lane: string | undefined): Context {
  return setLaneWith(DEFAULT_PLAN, ctx, lane);
}

/** {@link setLane} on the carriers of `plan`. */
export function setLaneWith(plan: CarrierPlan, ctx: Context, lane: string | undefined): Context {
  const value = laneOrBase(lane, 'setLane');
  const next = value === undefined ? ctx.deleteValue(LANE_KEY) : ctx.setValue(LANE_KEY, value);
  const baggage = propagation.getBaggage(next);
  const synced = withLaneEntries(baggage, value, plan.writeBaggage);
  return synced === baggage || synced === undefined ? next : propagation.setBaggage(next, synced);
}

/**
 * Runs `fn` in the active context with `lane` (`undefined`: the base lane, which also clears any lane
 * inherited from the caller) and returns its result. Needs a registered context manager (see
 * `ensureContextManager`); without one, OpenTelemetry's no-op manager loses the lane.
 */
export function withLane<T>(lane: string | undefined, fn: () => T): T {
  return context.with(setLaneWith(DEFAULT_PLAN, context.active(), lane), fn);
}

/**
 * `fn` bound to `ctx` (default: the active context), so it runs in that lane wherever it is called
 * from. Use it for callbacks registered in one request and invoked from another (listeners on a
 * shared emitter, callbacks queued in a pool).
 */
export function bindLane<F extends (...args: never[]) => unknown>(fn: F, ctx: Context = context.active()): F {
  return context.bind(ctx, fn);
}

/**
 * Binds every listener later added to `emitter` to `ctx` (default: the active context). An
 * AsyncLocalStorage context follows the code that *emits*, so without this a listener runs in the
 * lane of whichever request happened to emit. Use it for an emitter that belongs to one request.
 */
export function bindEmitter<E extends EventEmitter>(emitter: E, ctx: Context = context.active()): E {
  return context.bind(ctx, emitter);
}

/** `lane` normalised by the lane grammar; an invalid lane is reported and becomes the base lane. */
export function laneOrBase(lane: string | undefined, where: string): string | undefined {
  if (lane === undefined) return undefined;
  const parsed = parseLane(lane);
  if (parsed !== null) return parsed;
  diag.warn(`graylane: ${where}: ${JSON.stringify(String(lane).slice(0, 80))} is not a valid lane; using the base lane`);
  return undefined;
}
