import { diag } from '@opentelemetry/api';
import type { TextMapGetter } from '@opentelemetry/api';
import { safePlan } from './carriers.js';
import type { CarrierOptions } from './carriers.js';
import { readLane } from './extract.js';
import { headerValue, injectLane } from './inject.js';
import { getLane, withLane } from './lane.js';

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
 * returns them. Like {@link injectLane}: the base lane removes graylane's carriers. Never throws.
 */
export function injectLaneIntoMessage<H extends MessageHeaders>(
  headers: H,
  lane: string | undefined = getLane(),
  options?: CarrierOptions,
): H {
  injectLane(headers, lane, options);
  return headers;
}

/** The lane carried by a message's `headers`; `undefined` for base or none. Never throws. */
export function extractMessageLane(headers: Readonly<MessageHeaders> | undefined, options?: CarrierOptions): string | undefined {
  if (headers === undefined) return undefined;
  try {
    return readLane(headers, messageGetter, safePlan(options)) ?? undefined;
  } catch (error) {
    diag.warn('graylane: could not read the lane of a message; using the base lane', error);
    return undefined;
  }
}

/**
 * Runs a message handler `fn` in the lane the message carries, and returns its result. A message
 * without a lane runs in the base lane, whatever lane the consuming loop itself runs in.
 */
export function runInMessageLane<T>(headers: Readonly<MessageHeaders> | undefined, fn: () => T, options?: CarrierOptions): T {
  return withLane(extractMessageLane(headers, options), fn, options);
}
