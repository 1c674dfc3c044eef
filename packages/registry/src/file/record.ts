/**
 * The file registry's on-disk record: `<dir>/<service>/<host>_<port>.json`, its path, its text, and
 * parsing it back (the watcher skips anything that is not a well-formed record of its service).
 */
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { createInstance, type Instance } from '@graylane/core';

/**
 * The content of `<dir>/<service>/<host>_<port>.json` (path segments URI-encoded), written
 * atomically (temporary file + rename) by the registering process. The instance's lane is read from
 * `metadata` (so a file written by hand may use any key `laneFromMetadata` knows); `lane` repeats it
 * for people reading the file. The file's mtime is the heartbeat. `healthy` and `enabled` may be
 * edited by an operator to take an instance out of rotation.
 */
export interface FileRecord {
  readonly version: 1;
  readonly service: string;
  readonly host: string;
  readonly port: number;
  readonly lane: string | null;
  readonly weight: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly healthy: boolean;
  readonly enabled: boolean;
  /** The registering process; on the same host, an instance whose process has died is gone. */
  readonly pid: number;
  readonly hostname: string;
  /** When the record was written (ISO 8601); heartbeats touch the file's mtime instead. */
  readonly updatedAt: string;
}

/** This machine's name, as records carry it: a record of this host names a pid that can be checked. */
export const HOSTNAME = osHostname();

/** The largest record file read; a record is well under 1 KiB unless its metadata is huge. */
export const MAX_RECORD_BYTES = 1024 * 1024;

/** A name safe as one path segment: URI-encoded, and never `.` or `..`. */
export function segment(name: string): string {
  return encodeURIComponent(name).replace(/^\.+$/, (dots) => '%2E'.repeat(dots.length));
}

/** The folder of `service`'s records in `dir`. */
export function serviceDir(dir: string, service: string): string {
  return join(dir, segment(service));
}

/** The path of the record of `service` at `host:port` in `dir`. */
export function pathOf(dir: string, service: string, host: string, port: number): string {
  return join(serviceDir(dir, service), `${segment(host)}_${port}.json`);
}

/** The record this process writes for `instance`: healthy, enabled, with its pid and host name. */
export function recordOf(instance: Instance): FileRecord {
  return {
    version: 1,
    service: instance.service,
    host: instance.host,
    port: instance.port,
    lane: instance.lane ?? null,
    weight: instance.weight,
    metadata: instance.metadata,
    healthy: true,
    enabled: true,
    pid: process.pid,
    hostname: HOSTNAME,
    updatedAt: new Date().toISOString(),
  };
}

/** The text of a record file. */
export function formatRecord(record: FileRecord): string {
  return `${JSON.stringify(record, null, 2)}\n`;
}

/** The record in `text`, or `undefined` when it is not a well-formed record of `service`. */
export function parseRecord(text: string, service: string): FileRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Record<string, unknown>;
  const ok =
    r['version'] === 1 &&
    r['service'] === service &&
    typeof r['host'] === 'string' &&
    r['host'] !== '' &&
    Number.isInteger(r['port']) &&
    Number.isInteger(r['pid']) &&
    (r['pid'] as number) > 0 &&
    typeof r['hostname'] === 'string';
  if (!ok) return undefined;
  const metadata: Record<string, string> = {};
  if (typeof r['metadata'] === 'object' && r['metadata'] !== null) {
    for (const [key, v] of Object.entries(r['metadata'])) if (typeof v === 'string') metadata[key] = v;
  }
  return {
    version: 1,
    service,
    host: r['host'] as string,
    port: r['port'] as number,
    lane: typeof r['lane'] === 'string' ? r['lane'] : null,
    weight: typeof r['weight'] === 'number' && Number.isFinite(r['weight']) && r['weight'] >= 0 ? r['weight'] : 1,
    metadata,
    healthy: r['healthy'] !== false,
    enabled: r['enabled'] !== false,
    pid: r['pid'] as number,
    hostname: r['hostname'] as string,
    updatedAt: typeof r['updatedAt'] === 'string' ? r['updatedAt'] : '',
  };
}

/** The instance a record describes (its lane read from its metadata). */
export function recordInstance(record: FileRecord): Instance {
  return createInstance({
    service: record.service,
    host: record.host,
    port: record.port,
    weight: record.weight,
    metadata: { ...record.metadata },
    healthy: record.healthy,
    enabled: record.enabled,
  });
}
