import { context, diag } from '@opentelemetry/api';
import type { TextMapGetter } from '@opentelemetry/api';
import { DEFAULT_PLAN } from './carriers.js';
import type { CarrierPlan } from './carriers.js';
import { readLane } from './extract.js';
import { headerValue, injectLaneWith } from './inject.js';
import { getLane, setLaneWith } from './lane.js';

/**
 * Headers of a queued message (Kafka, AMQP, NATS, an in-process job): string, string-array or
 * `Buffer` values. graylane writes and reads the same carriers as over HTTP, with lower-case names.
 */
export type MessageHeaders = Record<string, unknown>;

const messageGetter: TextMapGetter<Readonly<MessageHeaders>> = {
  get: (carrier, key) => headerValue(carrier[key]),
  keys: (carrier) => Object.keys(carrier),
};

/**
 * Writes `lane` (default: the current lane) into a message's `headers` before it is published, and
 * returns them. Like `injectLane`: the base lane removes graylane's carriers. Never throws. On other
 * carriers than graylane's defaults: `carriers.injectLaneIntoMessage`.
 */
export function injectLaneIntoMessage<H extends MessageHeaders>(headers: H, lane: string | undefined = getLane()): H {
  return injectLaneIntoMessageWith(DEFAULT_PLAN, headers, lane);
}

/** {@link injectLaneIntoMessage} on the carriers of `plan`. */
export function injectLaneIntoMessageWith<H extends MessageHeaders>(plan: CarrierPlan, headers: H, lane: string | undefined): H {
  injectLaneWith(plan, headers, lane);
  return headers;
}

/** The lane carried by a message's `headers`; `undefined` for base or none. Never throws. */
export function extractMessageLane(headers: Readonly<MessageHeaders> | undefined): string | undefined {
  return extractMessageLaneWith(DEFAULT_PLAN, headers);
}

/** {@link extractMessageLane} on the carriers of `plan`. */
export function extractMessageLaneWith(plan: CarrierPlan, headers: Readonly<MessageHeaders> | undefined): string | undefined {
  if (headers === undefined) return undefined;
  try {
    return readLane(headers, messageGetter, plan) ?? undefined;
  } catch (error) {
    diag.warn('graylane: could not read the lane of a message; using the base lane', error);
    return undefined;
  }
}

/**
 * Runs a message handler `fn` in the lane the message carries, and returns its result. A message
 * without a lane runs in the base lane, whatever lane the consuming loop itself runs in.
 */
export function runInMessageLane<T>(headers: Readonly<MessageHeaders> | undefined, fn: () => T): T {
  return runInMessageLaneWith(DEFAULT_PLAN, headers, fn);
}

/** {@link runInMessageLane} on the carriers of `plan`. */
export function runInMessageLaneWith<T>(plan: CarrierPlan, headers: Readonly<MessageHeaders> | undefined, fn: () => T): T {
  return context.with(setLaneWith(plan, context.active(), extractMessageLaneWith(plan, headers)), fn);
}
