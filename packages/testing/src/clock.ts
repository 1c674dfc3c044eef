/**
 * A fake {@link Clock} for the code that waits (retries, backoffs, load timeouts): time moves only
 * when the test says so, so a test of a 2 s backoff takes microseconds and can assert that nothing
 * happened one millisecond early.
 */
import type { Clock, ClockTimer } from '@graylane/core';

/** A {@link Clock} whose time the test moves. */
export interface FakeClock extends Clock {
  /**
   * Moves time forward by `ms`, running each timer that falls due, in due order, at its own time;
   * between timers (and at the end) it lets the code under test run until it is idle again (its
   * promise chains and I/O callbacks of one event-loop turn), so timers scheduled by a callback
   * also run if they fall due within `ms`.
   */
  advance(ms: number): Promise<void>;
  /**
   * Moves time forward in steps of `stepMs` (default 10) until `condition` holds, checking it
   * first; rejects naming `what` once `maxMs` of fake time passed without it. The fake-time form of
   * polling with a deadline.
   */
  advanceUntil(condition: () => boolean, maxMs: number, what: string, stepMs?: number): Promise<void>;
  /** Timers scheduled and not yet run or cleared. */
  readonly pending: number;
  /** The delays (ms) of every timer scheduled so far, in order: what a backoff asked for. */
  readonly scheduled: readonly number[];
}

interface Entry {
  readonly due: number;
  readonly seq: number;
  readonly callback: () => void;
}

/** A fake clock starting at `start` ms since the epoch (default: the real time now). */
export function createFakeClock(start: number = Date.now()): FakeClock {
  let now = start;
  let seq = 0;
  const timers = new Map<ClockTimer, Entry>();
  const scheduled: number[] = [];
  const idle = async () => {
    // Two turns of the real event loop: promise chains run, then callbacks they scheduled with
    // setImmediate (socket writes of a loopback server, a fake connection's replies).
    for (let i = 0; i < 2; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  };
  const clock: FakeClock = {
    now: () => now,
    setTimeout(callback, ms) {
      const delay = Math.max(0, Number.isFinite(ms) ? ms : 0);
      scheduled.push(delay);
      const timer: ClockTimer = { unref: () => timer };
      timers.set(timer, { due: now + delay, seq: seq++, callback });
      return timer;
    },
    clearTimeout(timer) {
      if (timer) timers.delete(timer);
    },
    async advance(ms) {
      if (!(ms >= 0)) throw new RangeError(`advance(ms): ms must be >= 0, got ${ms}`);
      const target = now + ms;
      await idle();
      for (;;) {
        let next: [ClockTimer, Entry] | undefined;
        for (const pair of timers) {
          if (pair[1].due <= target && (!next || pair[1].due < next[1].due || (pair[1].due === next[1].due && pair[1].seq < next[1].seq))) next = pair;
        }
        if (!next) break;
        timers.delete(next[0]);
        now = Math.max(now, next[1].due);
        next[1].callback();
        await idle();
      }
      now = target;
      await idle();
    },
    async advanceUntil(condition, maxMs, what, stepMs = 10) {
      if (!(stepMs > 0)) throw new RangeError(`advanceUntil: stepMs must be > 0, got ${stepMs}`);
      await idle();
      for (let waited = 0; !condition(); waited += stepMs) {
        if (waited >= maxMs) throw new Error(`fake clock: ${what} did not happen within ${maxMs} ms (at ${now - start} ms of fake time)`);
        await clock.advance(stepMs);
      }
    },
    get pending() {
      return timers.size;
    },
    get scheduled() {
      return scheduled;
    },
  };
  return clock;
}
