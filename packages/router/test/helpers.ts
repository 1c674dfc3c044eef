import { GraylaneError } from '@graylane/core';
import type { Instance } from '@graylane/core';

/** A test instance of `service` on port `port`; overrides win. */
export function instance(
  port: number,
  lane?: string,
  overrides: Partial<Instance> = {},
  service = 'orders',
): Instance {
  return {
    id: `10.0.0.1:${port}`,
    service,
    host: '10.0.0.1',
    port,
    lane,
    weight: 1,
    healthy: true,
    enabled: true,
    metadata: {},
    ...overrides,
  };
}

/** How many of `n` picks each instance id received. */
export function tally(n: number, pick: () => Instance): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const id = pick().id;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/**
 * A clock whose time the test moves (the router reads only `now()`). The private test kit's fake
 * clock is not a dependency of this pure package, and the router schedules nothing.
 */
export function manualClock(start = 1_000_000) {
  let now = start;
  return {
    now: () => now,
    setTimeout: (): never => {
      throw new Error('the router must not schedule timers');
    },
    clearTimeout: () => {},
    advance(ms: number) {
      now += ms;
    },
  };
}

/** The GraylaneError `fn` throws; fails the test when it throws anything else, or nothing. */
export function errorOf(fn: () => unknown): GraylaneError {
  try {
    fn();
  } catch (error) {
    if (error instanceof GraylaneError) return error;
    throw error;
  }
  throw new Error('expected a GraylaneError');
}
