import type { Context } from '@opentelemetry/api';
import { context } from '@opentelemetry/api';
import { DEFAULT_PLAN, madePlan, planOf, registerCarriers, resolvePlan } from './carriers.js';
import type { CarrierOptions, CarrierPlan, Carriers as CarriersValue } from './carriers.js';
import { extractLaneWith } from './extract.js';
import type { InboundHeaders } from './extract.js';
import { injectLaneWith } from './inject.js';
import { getLane, setLaneWith } from './lane.js';
import { extractMessageLaneWith, injectLaneIntoMessageWith, runInMessageLaneWith } from './messages.js';
import type { MessageHeaders } from './messages.js';
import { LanePropagator } from './propagator.js';
import { stripLaneCarriersWith } from './strip.js';
import { setIntervalInLaneWith, setTimeoutInLaneWith } from './timers.js';

/**
 * Where the lane travels, validated once (see `CarrierOptions` for the carriers and their order):
 * made by {@link createCarriers}, or given by the bootstrap as `graylane.carriers`, and passed as it
 * is to the propagator and to every adapter. Its methods are graylane's context functions on these
 * carriers; the free functions of the same names use graylane's defaults ({@link DEFAULT_CARRIERS}).
 */
export interface Carriers extends CarriersValue {
  /** A `TextMapPropagator` on these carriers, for OpenTelemetry's SDK (`textMapPropagator`). */
  readonly propagator: LanePropagator;
  /** `extractLane` on these carriers: the lane inbound `headers` carry. Never throws. */
  extractLane(headers: InboundHeaders): string | undefined;
  /** `injectLane` on these carriers: writes `lane` into outbound `headers`. Never throws. */
  injectLane(headers: Record<string, unknown>, lane: string | undefined): void;
  /** `stripLaneCarriers` on these carriers: removes every lane carrier from `headers`. Never throws. */
  stripLaneCarriers(headers: Record<string, unknown>): void;
  /** `setLane` on these carriers: a copy of `ctx` in `lane`, its baggage in line. Never throws. */
  setLane(ctx: Context, lane: string | undefined): Context;
  /** `withLane` on these carriers: runs `fn` in `lane` and returns its result. */
  withLane<T>(lane: string | undefined, fn: () => T): T;
  /** `injectLaneIntoMessage` on these carriers: stamps `lane` (default: the current one) on a message's headers. */
  injectLaneIntoMessage<H extends MessageHeaders>(headers: H, lane?: string): H;
  /** `extractMessageLane` on these carriers: the lane a message's headers carry. Never throws. */
  extractMessageLane(headers: Readonly<MessageHeaders> | undefined): string | undefined;
  /** `runInMessageLane` on these carriers: runs a message handler in the message's lane. */
  runInMessageLane<T>(headers: Readonly<MessageHeaders> | undefined, fn: () => T): T;
  /** `setTimeoutInLane` on these carriers. */
  setTimeoutInLane(lane: string | undefined, fn: () => void, ms: number): NodeJS.Timeout;
  /** `setIntervalInLane` on these carriers. */
  setIntervalInLane(lane: string | undefined, fn: () => void, ms: number): NodeJS.Timeout;
}

/**
 * Validates carrier `options` once and returns the {@link Carriers} value to pass to the propagator
 * and every adapter. Given a `Carriers` value, returns it as it is.
 *
 * @throws GraylaneError `GRAYLANE_ERR_CONFIG_INVALID` naming the option when a name is not an HTTP
 *   token, an option is unknown, or `headers` is not a list: at start-up, never on a request.
 *
 * @example
 * ```ts
 * const carriers = createCarriers({ opensergoHeader: true, headers: ['x-lane'] });
 * app.use(graylaneMiddleware({ carriers }));
 * attachLaneRouting(http, { router, carriers });
 * ```
 */
export function createCarriers(options: CarrierOptions | Carriers = {}): Carriers {
  if (isCarriers(options)) return options;
  const plan = resolvePlan(options);
  return carriersOf(plan, Object.freeze({ ...options, ...(options.headers ? { headers: Object.freeze([...options.headers]) } : {}) }));
}

/** graylane's default carriers: `x-mse-tag`, baggage `lane`, and MSE's `__microservice_tag__` read. */
export const DEFAULT_CARRIERS: Carriers = carriersOf(DEFAULT_PLAN, Object.freeze({}));

/**
 * `carriers` when `createCarriers` made it, {@link DEFAULT_CARRIERS} when `undefined`: for an
 * adapter to check the carriers it is given once, at start-up.
 *
 * @throws GraylaneError `GRAYLANE_ERR_CONFIG_INVALID` with `details.path` = `where` for anything
 *   else, carrier options included (they need `createCarriers(options)` first).
 */
export function carriersOrDefault(carriers: Carriers | undefined, where: string): Carriers {
  if (carriers === undefined) return DEFAULT_CARRIERS;
  planOf(carriers, where);
  return carriers;
}

function isCarriers(value: unknown): value is Carriers {
  return madePlan(value) !== undefined;
}

function carriersOf(plan: CarrierPlan, options: Readonly<CarrierOptions>): Carriers {
  let propagator: LanePropagator | undefined;
  const value: Carriers = Object.freeze({
    options,
    get propagator() {
      return (propagator ??= new LanePropagator(value));
    },
    extractLane: (headers: InboundHeaders) => extractLaneWith(plan, headers),
    injectLane: (headers: Record<string, unknown>, lane: string | undefined) => injectLaneWith(plan, headers, lane),
    stripLaneCarriers: (headers: Record<string, unknown>) => stripLaneCarriersWith(plan, headers),
    setLane: (ctx: Context, lane: string | undefined) => setLaneWith(plan, ctx, lane),
    withLane: <T>(lane: string | undefined, fn: () => T): T => context.with(setLaneWith(plan, context.active(), lane), fn),
    injectLaneIntoMessage: <H extends MessageHeaders>(headers: H, lane: string | undefined = getLane()): H => injectLaneIntoMessageWith(plan, headers, lane),
    extractMessageLane: (headers: Readonly<MessageHeaders> | undefined) => extractMessageLaneWith(plan, headers),
    runInMessageLane: <T>(headers: Readonly<MessageHeaders> | undefined, fn: () => T): T => runInMessageLaneWith(plan, headers, fn),
    setTimeoutInLane: (lane: string | undefined, fn: () => void, ms: number) => setTimeoutInLaneWith(plan, lane, fn, ms),
    setIntervalInLane: (lane: string | undefined, fn: () => void, ms: number) => setIntervalInLaneWith(plan, lane, fn, ms),
  });
  registerCarriers(value, plan);
  return value;
}
