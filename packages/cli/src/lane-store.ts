import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { Instance, Registry } from '@graylane/core';
import { parseLaneStore, serializeLaneStore } from '@graylane/rules';
import type { LaneObject, LaneStore } from '@graylane/rules';
import { UsageError } from './command.js';
import type { Context } from './command.js';
import { nacosOptions, registryTarget } from './environment.js';
import type { RegistryTarget } from './environment.js';
import { InstanceLists } from './instance-lists.js';

/** Where the lane objects live: a file (GRAYLANE_LANES_FILE) or a Nacos config (GRAYLANE_LANES_DATA_ID). */
export interface LaneStoreAccess {
  readonly where: string;
  read(): Promise<LaneStore>;
  write(store: LaneStore): Promise<void>;
  close(): Promise<void>;
}

/** The lane store the environment names, as services read it (`lanesFromEnv` of @graylane/node). */
export async function openLaneStore(context: Context): Promise<LaneStoreAccess> {
  const file = context.env['GRAYLANE_LANES_FILE']?.trim();
  const dataId = context.env['GRAYLANE_LANES_DATA_ID']?.trim();
  if (file && dataId) throw new UsageError('set GRAYLANE_LANES_FILE or GRAYLANE_LANES_DATA_ID, not both');
  if (file) {
    const path = resolve(context.cwd, file);
    return {
      where: `file ${path}`,
      async read() {
        let text: string | undefined;
        try {
          text = await readFile(path, 'utf8');
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
        return parseLaneStore(text, path);
      },
      async write(store) {
        // Whole or not at all: services watching the file never read half of it.
        await mkdir(dirname(path), { recursive: true });
        const temporary = `${path}.${process.pid}.tmp`;
        await writeFile(temporary, serializeLaneStore(store));
        await rename(temporary, path);
      },
      close: async () => undefined,
    };
  }
  if (!dataId) throw new UsageError('name the lane store: GRAYLANE_LANES_FILE=<file> (local) or GRAYLANE_LANES_DATA_ID=<data id> with NACOS_SERVER_ADDR, as the services have it');
  const nacos = await nacosOptions(context);
  if (!nacos) throw new UsageError('GRAYLANE_LANES_DATA_ID names a Nacos config, but NACOS_SERVER_ADDR is not set');
  const { DEFAULT_GROUP, createNacosConfig } = await import('@graylane/nacos');
  const group = context.env['GRAYLANE_LANES_GROUP']?.trim() || DEFAULT_GROUP;
  const config = createNacosConfig(nacos);
  return {
    where: `nacos ${nacos.serverAddr} ${group}/${dataId}`,
    read: async () => parseLaneStore(await config.get(dataId, group), `${group}/${dataId}`),
    async write(store) {
      const text = serializeLaneStore(store);
      await config.publish(dataId, text, group, { type: 'json' });
      // Read back until the server serves the change: the Java server stores a publish at once but
      // answers queries from a cache it updates asynchronously, so the next command (enable right
      // after disable, in a pipeline) would otherwise read, and write back, the previous state.
      const deadline = Date.now() + READ_BACK_MS;
      while ((await config.get(dataId, group)) !== text) {
        if (Date.now() >= deadline) {
          context.err(`graylane: warning: nacos ${group}/${dataId} still served the previous lane store ${READ_BACK_MS} ms after the change was stored`);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    close: () => config.close(),
  };
}

/** How long a write to the Nacos lane store waits for the server to serve it back. */
const READ_BACK_MS = 5000;

/** Who runs the command: `--by`, else user@host. */
export function changedBy(by: string | undefined, context: Context): string {
  if (by) return by;
  let user = context.env['USER'] ?? context.env['USERNAME'];
  try {
    user ??= userInfo().username;
  } catch {
    user ??= 'unknown';
  }
  return `${user}@${hostname()}`;
}

/** `store` with `lane` replaced by `update(lane)`; `undefined` when there is no such lane. */
export function updateLane(store: LaneStore, tag: string, update: (lane: LaneObject) => LaneObject | undefined): LaneStore | undefined {
  const lane = store.lanes.find((candidate) => candidate.tag === tag);
  if (!lane) return undefined;
  const next = update(lane);
  return { ...store, lanes: store.lanes.flatMap((candidate) => (candidate.tag !== tag ? [candidate] : next ? [next] : [])) };
}

/** `30s`, `15m`, `2h`, `1d` in milliseconds; `undefined` when not one. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

/** The registry the environment names, opened as `graylane lanes` opens it; with the services it can list by itself. */
export async function openRegistry(context: Context): Promise<{ registry: Registry; target: RegistryTarget; services(): Promise<string[]> }> {
  const target = await registryTarget(context);
  if (target.kind === 'nacos') {
    return { registry: (await import('@graylane/nacos')).createNacosRegistry(target.options), target, services: async () => [] };
  }
  const chosen = Boolean(context.env['GRAYLANE_REGISTRY_DIR']?.trim());
  const registry = (await import('@graylane/registry')).createFileRegistry(chosen ? { dir: target.dir } : {});
  const dir = registry.dir;
  return {
    registry,
    target: { kind: 'file', dir },
    async services() {
      if (!existsSync(dir)) return [];
      const entries = await readdir(dir, { withFileTypes: true });
      return entries.filter((entry) => entry.isDirectory()).flatMap((entry) => {
        try {
          return [decodeURIComponent(entry.name)];
        } catch {
          return [];
        }
      });
    },
  };
}

/** The current instances of `services`. */
export async function listInstances(registry: Registry, services: readonly string[], timeoutMs = 5000): Promise<Instance[]> {
  const lists = new InstanceLists(registry);
  try {
    for (const service of services) lists.add(service);
    return await lists.ready(timeoutMs);
  } finally {
    lists.close();
  }
}
