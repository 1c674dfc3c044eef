import { ErrorCode, GraylaneError } from './errors.js';
import type { Instance, InstanceRegistration } from './instance.js';
import { assertLane } from './lane.js';
import { WireNames, createInstance, laneMetadata } from './metadata.js';

/**
 * The instance a registration announces, the same for every registry (memory, file, Nacos): id
 * `host:port`, weight 1 unless given, healthy and enabled, and metadata carrying the lane under
 * every key of {@link laneMetadata}.
 *
 * The lane is the registration's `lane` when set, else the lane its metadata names under any key
 * other systems write, in this order: `graylane.io/lane`, `alicloud.service.tag` (MSE),
 * `OpenSergo-Label`, `traffic.opensergo.io/label`, then an `opensergo.io/canary-<lane>` key. A lane
 * that is set but invalid is refused, wherever it is given.
 *
 * @throws GraylaneError `GRAYLANE_ERR_CONFIG_INVALID` for a registration no registry could route to
 *   (empty service or host, port outside 1-65535, negative or non-finite weight), and
 *   `GRAYLANE_ERR_LANE_INVALID` for an invalid lane in `lane` or in the metadata.
 */
export function registrationInstance(registration: InstanceRegistration): Instance {
  const { service, host, port, metadata } = registration;
  const weight = registration.weight ?? 1;
  const issues: string[] = [];
  if (typeof service !== 'string' || service.trim() === '') issues.push('service must be a non-empty string');
  if (typeof host !== 'string' || host.trim() === '') issues.push('host must be a non-empty string');
  if (!Number.isInteger(port) || port < 1 || port > 65535) issues.push(`port must be an integer in 1-65535, got ${String(port)}`);
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) issues.push(`weight must be a finite number >= 0, got ${String(weight)}`);
  if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null)) issues.push('metadata must be an object of strings');
  else if (metadata !== undefined) {
    for (const [key, value] of Object.entries(metadata)) if (typeof value !== 'string') issues.push(`metadata["${key}"] must be a string`);
  }
  if (issues.length > 0) {
    throw new GraylaneError(ErrorCode.CONFIG_INVALID, `invalid registration: ${issues.join('; ')}`, {
      details: { issues, service, host, port },
    });
  }
  const where = `registration of "${service}"`;
  const lane = registration.lane !== undefined ? assertLane(registration.lane, `${where} lane`) : metadataLane(metadata, where);
  return createInstance({ service, host, port, weight, metadata: { ...metadata, ...laneMetadata(lane) } });
}

/** The lane a registration's metadata names (see {@link registrationInstance}); an invalid one throws. */
function metadataLane(metadata: Readonly<Record<string, string>> | undefined, where: string): string | undefined {
  if (metadata === undefined) return undefined;
  for (const key of [WireNames.GRAYLANE_METADATA, WireNames.MSE_SERVICE_TAG, WireNames.OPENSERGO_METADATA, WireNames.OPENSERGO_LABEL]) {
    const value = metadata[key];
    if (value !== undefined && value.trim() !== '') return assertLane(value, `${where} metadata "${key}"`);
  }
  const prefix = `${WireNames.OPENSERGO_CANARY_PREFIX}-`;
  for (const key of Object.keys(metadata).sort()) {
    const value = metadata[key];
    if (key.startsWith(prefix) && value !== undefined && value.trim() !== '') return assertLane(value, `${where} metadata "${key}"`);
  }
  return undefined;
}
