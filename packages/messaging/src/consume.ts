import { diag } from '@opentelemetry/api';
import { carriersOrDefault } from '@graylane/context';
import type { Carriers, MessageHeaders } from '@graylane/context';
import { sleep } from '@graylane/core';
import type { Clock } from '@graylane/core';
import type { LaneConsumerPolicy } from './policy.js';

/** Options of {@link consumeInLane}. */
export interface ConsumeInLaneOptions {
  /** The carriers the lane is read from (`graylane.carriers`, or `createCarriers(...)`). Default: graylane's. */
  readonly carriers?: Carriers | undefined;
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
  const carriers = carriersOrDefault(options.carriers, 'consumeInLane.carriers');
  let lane: string | undefined;
  try {
    lane = carriers.extractMessageLane(headers);
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
  await carriers.withLane(lane, handler);
  return true;
}
