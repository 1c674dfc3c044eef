import type { Instance } from './instance.js';
import { parseLane } from './lane.js';

/**
 * Wire names other systems already use for lanes, so that a Node service can join a chain of Java
 * services on MSE or OpenSergo. See docs/concepts/wire-compatibility.md.
 */
export const WireNames = {
  /** MSE's lane header, at the entry and between hops. */
  MSE_TAG_HEADER: 'x-mse-tag',
  /** The W3C baggage header. */
  BAGGAGE_HEADER: 'baggage',
  /** OpenSergo's lane header (the traffic-lane draft). */
  OPENSERGO_TRAFFIC_HEADER: 'x-opensergo-traffic',
  /** The W3C baggage key under which MSE's Java agent carries the lane, as a JSON value. */
  MSE_BAGGAGE_KEY: '__microservice_tag__',
  /** graylane's debug trail response header (`service[lane]@address` hops). */
  TRAIL_HEADER: 'x-graylane-trail',
  /** The header an entry reads signed lane tokens from unless told otherwise. */
  LANE_TOKEN_HEADER: 'x-graylane-lane-token',
  /** W3C baggage key graylane writes by default. */
  BAGGAGE_KEY: 'lane',
  /** MSE instance label / registry metadata key for the lane. */
  MSE_SERVICE_TAG: 'alicloud.service.tag',
  /** Environment variable MSE reads for the instance label. */
  MSE_SERVICE_TAG_ENV: 'MSE_ALICLOUD_SERVICE_TAG',
  /** OpenSergo gen-1 pod label. */
  OPENSERGO_LABEL: 'traffic.opensergo.io/label',
  /** OpenSergo gen-1 registry metadata key and baggage key. */
  OPENSERGO_METADATA: 'OpenSergo-Label',
  /** Prefix of the MSE gateway's registry metadata key: `opensergo.io/canary-<lane>: <lane>`. */
  OPENSERGO_CANARY_PREFIX: 'opensergo.io/canary',
  /** graylane's own registry metadata key. */
  GRAYLANE_METADATA: 'graylane.io/lane',
  /** graylane's own environment variable. */
  GRAYLANE_LANE_ENV: 'GRAYLANE_LANE',
} as const;

/**
 * Registry metadata announcing `lane` under every key other systems read. Values are strings (Nacos
 * drops metadata with non-string values). A base instance writes explicit empty values, because an
 * empty metadata object does not clear a previous lane in Nacos.
 */
export function laneMetadata(lane: string | undefined): Record<string, string> {
  if (lane === undefined) {
    return {
      [WireNames.GRAYLANE_METADATA]: '',
      [WireNames.MSE_SERVICE_TAG]: '',
      [WireNames.OPENSERGO_METADATA]: '',
      [WireNames.OPENSERGO_CANARY_PREFIX]: '',
    };
  }
  return {
    [WireNames.GRAYLANE_METADATA]: lane,
    [WireNames.MSE_SERVICE_TAG]: lane,
    [WireNames.OPENSERGO_METADATA]: lane,
    [`${WireNames.OPENSERGO_CANARY_PREFIX}-${lane}`]: lane,
  };
}

/**
 * The lane an instance's registry metadata announces, read the way the fleet writes it: graylane's
 * key, then MSE's `alicloud.service.tag`, then OpenSergo's `OpenSergo-Label`, then an
 * `opensergo.io/canary-<lane>` key. Invalid values count as base (and never as another lane).
 */
export function laneFromMetadata(metadata: Readonly<Record<string, string>> | undefined): string | undefined {
  if (!metadata) return undefined;
  for (const key of [WireNames.GRAYLANE_METADATA, WireNames.MSE_SERVICE_TAG, WireNames.OPENSERGO_METADATA]) {
    const value = metadata[key];
    if (value !== undefined && value !== '') return parseLane(value) ?? undefined;
  }
  const prefix = `${WireNames.OPENSERGO_CANARY_PREFIX}-`;
  for (const key in metadata) {
    if (key.startsWith(prefix)) {
      const value = metadata[key];
      if (value) return parseLane(value) ?? undefined;
    }
  }
  return undefined;
}

/**
 * The lane this process serves, read from the environment the way MSE and OpenSergo deployments set
 * it: `GRAYLANE_LANE`, then `MSE_ALICLOUD_SERVICE_TAG`, then the variables named `alicloud.service.tag`
 * and `traffic.opensergo.io/label` (valid in a container's env, if not in a shell). Returns
 * `undefined` for base and `null` when a variable is set to an invalid lane (with the variable's name).
 */
export function laneFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): { lane: string | undefined; source: string | undefined } | { lane: null; source: string } {
  for (const name of [
    WireNames.GRAYLANE_LANE_ENV,
    WireNames.MSE_SERVICE_TAG_ENV,
    WireNames.MSE_SERVICE_TAG,
    WireNames.OPENSERGO_LABEL,
  ]) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') continue;
    const lane = parseLane(raw);
    if (lane === null) return { lane: null, source: name };
    return { lane, source: name };
  }
  return { lane: undefined, source: undefined };
}

/** The fields {@link createInstance} takes; everything but the address is optional. */
export interface InstanceFields {
  readonly service: string;
  readonly host: string;
  readonly port: number;
  /** Registry metadata; the instance's lane is read from it ({@link laneFromMetadata}). Default none. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Default 1. */
  readonly weight?: number;
  /** Default true. */
  readonly healthy?: boolean;
  /** Default true. */
  readonly enabled?: boolean;
}

/**
 * Builds a frozen {@link Instance} the way every registry reports one: id `host:port`, the lane read
 * from its metadata, weight 1, healthy and enabled unless said otherwise. For registries, and for
 * lists given to a router directly (`router.update(service, [createInstance(...)])`).
 */
export function createInstance(fields: InstanceFields): Instance {
  const metadata = Object.freeze({ ...fields.metadata });
  return Object.freeze({
    id: `${fields.host}:${fields.port}`,
    service: fields.service,
    host: fields.host,
    port: fields.port,
    lane: laneFromMetadata(metadata),
    weight: fields.weight ?? 1,
    healthy: fields.healthy ?? true,
    enabled: fields.enabled ?? true,
    metadata,
  });
}
