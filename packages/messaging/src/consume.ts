import { diag } from '@opentelemetry/api';
import { extractMessageLane, withLane } from '@graylane/context';
import type { CarrierOptions, MessageHeaders } from '@graylane/context';
import { sleep } from '@graylane/core';
import type { Clock } from '@graylane/core';
import type { LaneConsumerPolicy } from './policy.js';

/** Options of {@link consumeInLane}. */
export interface ConsumeInLaneOptions {
  readonly carriers?: CarrierOptions;
  readonly clock?: Clock;
}

/**
 * Applies `policy` to one message and, when it is this consumer's to handle, runs `handler` in the
 * message's lane. Resolves `true` when handled, `false` when skipped. A `wait` decision sleeps and asks
 * again; the policy's waits are bounded by `fallbackAfterMs`, so no message waits forever. Headers that
 * cannot be read make the message a base message (a diagnostic is logged); they never throw here.
 */
export async function consumeInLane<T>(
  policy: LaneConsumerPolicy,
  headers: Readonly<MessageHeaders> | undefined,
  handler: () => T | Promise<T>,
  options: ConsumeInLaneOptions = {},
): Promise<boolean> {
  let lane: string | undefined;
  try {
    lane = extractMessageLane(headers, options.carriers);
  } catch (error) {
    diag.warn(`graylane: unreadable lane headers on a message for ${policy.service}; handled as base`, error);
    lane = undefined;
  }
  for (let round = 0; round < 100; round++) {
    const decision = policy.decide(lane);
    if (decision.action === 'skip') return false;
    if (decision.action === 'handle') break;
    await sleep(decision.ms, options.clock);
  }
  await withLane(lane, handler, options.carriers);
  return true;
}
