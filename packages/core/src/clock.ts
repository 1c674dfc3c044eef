/**
 * Time, as the code that waits sees it: retries, backoffs and load timeouts schedule through a
 * {@link Clock} taken from their options, so that their tests can move time instead of sleeping
 * (`createFakeClock()` in graylane's private test kit). Never used on the request path.
 */

/** A scheduled callback, as {@link Clock.setTimeout} returns it. */
export interface ClockTimer {
  /** Lets the process exit while the timer is pending (Node's `Timeout.unref`); returns the timer. */
  unref(): ClockTimer;
}

/** Where waiting code reads the time and schedules its callbacks. */
export interface Clock {
  /** Milliseconds since the epoch, like `Date.now()`. */
  now(): number;
  /** Calls `callback` once after `ms` milliseconds, like the global `setTimeout`. */
  setTimeout(callback: () => void, ms: number): ClockTimer;
  /** Cancels a timer of this clock; `undefined` and a timer that already ran are ignored. */
  clearTimeout(timer: ClockTimer | undefined): void;
}

/** The real clock: `Date.now` and Node's timers. The default wherever a `clock` option is taken. */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (callback: () => void, ms: number): ClockTimer => setTimeout(callback, ms),
  clearTimeout: (timer: ClockTimer | undefined) => clearTimeout(timer as NodeJS.Timeout | undefined),
});

/** Resolves after `ms` milliseconds of `clock`, on an unref'd timer (a pending wait never keeps the process alive). */
export function sleep(ms: number, clock: Clock = systemClock): Promise<void> {
  return new Promise((resolve) => void clock.setTimeout(resolve, ms).unref());
}
