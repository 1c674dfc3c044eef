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
 * Most `wait` decisions taken for one message. The policy's waits end by themselves (each lasts
 * until `fallbackAfterMs` after the lane consumer vanished, or, with `laneCopies`, until the check
 * of whether a lane has its own copy answers or times out), so this only bounds a policy that keeps
 * answering `wait` (a clock that does not advance): the message is then handled, never held forever.
 */
export const MAX_WAIT_ROUNDS = 100;

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
  for (let round = 0; ; round++) {
    const decision = policy.decide(lane);
    if (decision.action === 'skip') return false;
    if (decision.action === 'handle') break;
    if (round === MAX_WAIT_ROUNDS) {
      diag.warn(`graylane: a ${lane ?? 'base'} message for ${policy.service} still waits after ${MAX_WAIT_ROUNDS} rounds; handled here`);
      break;
    }
    await sleep(decision.ms, options.clock);
  }
  await carriers.withLane(lane, handler);
  return true;
}
