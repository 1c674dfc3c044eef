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
