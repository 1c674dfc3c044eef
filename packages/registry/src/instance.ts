import {
  ErrorCode,
  GraylaneError,
  assertLane,
  createInstance,
  laneFromMetadata,
  laneMetadata,
  type Instance,
  type InstanceRegistration,
} from '@graylane/core';

/**
 * The instance a registration announces: id `host:port`, weight 1 unless given, healthy and
 * enabled, and metadata carrying the lane under every key of `laneMetadata`. The lane is the
 * registration's `lane` when set, else whatever lane its metadata already names.
 *
 * @throws GraylaneError `GRAYLANE_ERR_CONFIG_INVALID` (or `GRAYLANE_ERR_LANE_INVALID`) for a
 *   registration no registry could route to.
 */
export function instanceOf(registration: InstanceRegistration): Instance {
  const { service, host, port } = registration;
  const weight = registration.weight ?? 1;
  const issues: string[] = [];
  if (typeof service !== 'string' || service.trim() === '') issues.push('service must be a non-empty string');
  if (typeof host !== 'string' || host.trim() === '') issues.push('host must be a non-empty string');
  if (!Number.isInteger(port) || port < 1 || port > 65535) issues.push(`port must be an integer in 1-65535, got ${String(port)}`);
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) issues.push(`weight must be a finite number >= 0, got ${String(weight)}`);
  if (issues.length > 0) {
    throw new GraylaneError(ErrorCode.CONFIG_INVALID, `invalid registration: ${issues.join('; ')}`, {
      details: { issues, service, host, port },
    });
  }
  const lane =
    registration.lane !== undefined
      ? assertLane(registration.lane, `registration of "${service}" lane`)
      : laneFromMetadata(registration.metadata);
  return createInstance({ service, host, port, weight, metadata: { ...registration.metadata, ...laneMetadata(lane) } });
}

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
