import { backoffDelay, systemClock } from '@graylane/core';
import type { Clock, ClockTimer } from '@graylane/core';

/**
 * Backoff for state the client keeps on the server (config listeners, service subscriptions,
 * registrations): a request for it that fails on a live connection is retried on its own, so the
 * state is never silently lost until the next reconnect. Internal: not exported from the package.
 */

/** The first retry waits about this long; each failure in a row doubles it, up to {@link RETRY_MAX_MS}. */
export const RETRY_MIN_MS = 500;
export const RETRY_MAX_MS = 30_000;

/** The delay before retry number `attempt` (0-based): 0.5 s doubling to 30 s, each drawn from [50 %, 100 %] of it. */
export function retryDelay(attempt: number): number {
  return backoffDelay(attempt, { firstMs: RETRY_MIN_MS, maxMs: RETRY_MAX_MS });
}

/**
 * One retried operation: counts its failures in a row and holds at most one scheduled retry, on an
 * unref'd timer (a pending retry never keeps the process alive). The owner decides when to
 * schedule (and whether the state still exists), logs the first failure (`failures === 0`) and the
 * recovery ({@link succeeded} returns the failures it ends), and cancels on removal or close.
 */
export class Backoff {
  readonly #run: () => void;
  readonly #clock: Clock;
  #failures = 0;
  #timer: ClockTimer | undefined;

  /** `clock`: where the retries are scheduled; default the real one. */
  constructor(run: () => void, clock: Clock = systemClock) {
    this.#run = run;
    this.#clock = clock;
  }

  /** Failures in a row since the last success. */
  get failures(): number {
    return this.#failures;
  }

  /** True while a retry is scheduled. */
  get scheduled(): boolean {
    return this.#timer !== undefined;
  }

  /** Counts a failure and schedules the retry after the backoff; a no-op while one is already scheduled. */
  schedule(): void {
    if (this.#timer) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#run();
    }, retryDelay(this.#failures++));
    this.#timer.unref();
  }

  /** Drops the scheduled retry, if any; the failure count stays (a retry run early still backs off after it). */
  cancel(): void {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Records a success: resets the failure count and returns the failures it ends (0: nothing to report). */
  succeeded(): number {
    const failures = this.#failures;
    this.#failures = 0;
    return failures;
  }
}
