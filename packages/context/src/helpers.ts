import type { Context } from '@opentelemetry/api';
import { carrierPlan } from './carriers.js';
import type { CarrierOptions } from './carriers.js';
import { extractLane } from './extract.js';
import type { InboundHeaders } from './extract.js';
import { injectLane } from './inject.js';
import { getLane, setLane, withLane } from './lane.js';
import { extractMessageLane, injectLaneIntoMessage, runInMessageLane } from './messages.js';
import type { MessageHeaders } from './messages.js';
import { LanePropagator } from './propagator.js';

/** graylane's carrier functions bound to one {@link CarrierOptions}; made by {@link createCarrierHelpers}. */
export interface CarrierHelpers {
  /** The options every helper uses. */
  readonly options: CarrierOptions;
  /** A {@link LanePropagator} with the same options. */
  readonly propagator: LanePropagator;
  /** {@link extractLane} with these options. */
  extractLane(headers: InboundHeaders): string | undefined;
  /** {@link injectLane} with these options. */
  injectLane(headers: Record<string, unknown>, lane: string | undefined): void;
  /** {@link setLane} with these options. */
  setLane(ctx: Context, lane: string | undefined): Context;
  /** {@link withLane} with these options. */
  withLane<T>(lane: string | undefined, fn: () => T): T;
  /** {@link injectLaneIntoMessage} with these options. */
  injectLaneIntoMessage<H extends MessageHeaders>(headers: H, lane?: string): H;
  /** {@link extractMessageLane} with these options. */
  extractMessageLane(headers: Readonly<MessageHeaders> | undefined): string | undefined;
  /** {@link runInMessageLane} with these options. */
  runInMessageLane<T>(headers: Readonly<MessageHeaders> | undefined, fn: () => T): T;
}

/**
 * Validates `options` once (throwing `GRAYLANE_ERR_CONFIG_INVALID` at start-up rather than logging on
 * every request) and returns the carrier functions bound to them.
 */
export function createCarrierHelpers(options: CarrierOptions = {}): CarrierHelpers {
  carrierPlan(options);
  return {
    options,
    propagator: new LanePropagator(options),
    extractLane: (headers) => extractLane(headers, options),
    injectLane: (headers, lane) => injectLane(headers, lane, options),
    setLane: (ctx, lane) => setLane(ctx, lane, options),
    withLane: (lane, fn) => withLane(lane, fn, options),
    injectLaneIntoMessage: (headers, lane = getLane()) => injectLaneIntoMessage(headers, lane, options),
    extractMessageLane: (headers) => extractMessageLane(headers, options),
    runInMessageLane: (headers, fn) => runInMessageLane(headers, fn, options),
  };
}
