import { ErrorCode, GraylaneError, registrationInstance, type Instance, type InstanceRegistration } from '@graylane/core';

/**
 * The instance a registration announces: core's `registrationInstance`, the one registration path
 * of every registry (memory, file and Nacos).
 *
 * @throws GraylaneError `GRAYLANE_ERR_CONFIG_INVALID` (or `GRAYLANE_ERR_LANE_INVALID`) for a
 *   registration no registry could route to.
 */
export const instanceOf: (registration: InstanceRegistration) => Instance = registrationInstance;

/** Orders instances by id, so that equal sets give equal lists. */
export function byId(a: Instance, b: Instance): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** A cheap string that changes whenever anything a router looks at changes. Lists sorted by id. */
export function fingerprint(instances: readonly Instance[]): string {
  let out = '';
  for (const i of instances) {
    out += `${i.id}|${i.lane ?? ''}|${i.weight}|${i.healthy ? 1 : 0}${i.enabled ? 1 : 0}|${JSON.stringify(i.metadata)}\n`;
  }
  return out;
}

/** Calls a listener, isolating the registry from its failures. */
export function deliver<T>(listener: (value: T) => void, value: T): void {
  try {
    listener(value);
  } catch {
    // A subscriber's bug must not stop notifications to the others.
  }
}

/** The error for operations on a closed registry. */
export function closedError(kind: string): GraylaneError {
  return new GraylaneError(ErrorCode.CLOSED, `the ${kind} registry is closed`, { details: { registry: kind } });
}
