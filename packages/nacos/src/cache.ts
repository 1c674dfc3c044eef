import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NacosLogger } from './options.js';

/** What a cache entry holds: a service's instance list, or a config's content. */
export type CacheKind = 'naming' | 'config';

/** One saved entry, as read back from disk. */
export interface CacheEntry {
  /** The entry's key, e.g. `DEFAULT_GROUP@@orders`. */
  readonly key: string;
  /** When it was saved (ISO 8601): how stale the failover data is. */
  readonly savedAt: string;
  readonly value: unknown;
  /** The file it was read from, for messages. */
  readonly file: string;
}

/**
 * How long a read that the failover cache could answer waits for a connection before it does:
 * a live server answers well within it; a server that refuses connections is given up on sooner.
 */
export const FAILOVER_WAIT_MS = 1000;
/** An entry larger than this is not cached (and an older copy is removed): 1 MiB. */
const MAX_ENTRY_BYTES = 1024 * 1024;
/** Entries per kind and folder; writing a new key beyond this evicts the least recently written. */
const MAX_ENTRIES = 256;

/**
 * The failover cache of one Nacos client (one server list and namespace): the last instance list
 * of each subscribed service and the last content of each read config, one JSON file per key,
 * served when Nacos cannot be reached. Files are written atomically (a temporary file renamed over
 * the old one), so processes sharing the folder never read half an entry; writes of one key are
 * applied in order. Failures to write are logged once and never thrown: the cache is a fallback,
 * not a dependency.
 */
export class FailoverCache {
  readonly #dir: string;
  readonly #logger: NacosLogger;
  /** The last write of each file, so that writes of one key land in order and reads see them. */
  readonly #writes = new Map<string, Promise<void>>();
  /** Files this process has written: eviction runs when a new one appears. */
  readonly #written = new Set<string>();
  #warned = false;

  constructor(dir: string, logger: NacosLogger) {
    this.#dir = dir;
    this.#logger = logger;
  }

  /** The entry saved for `key`, or `undefined` when there is none or it cannot be read. */
  async read(kind: CacheKind, key: string): Promise<CacheEntry | undefined> {
    const file = this.#file(kind, key);
    await this.#writes.get(file);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      return undefined;
    }
    try {
      const entry = JSON.parse(text) as { key?: unknown; savedAt?: unknown; value?: unknown };
      if (entry.key !== key || typeof entry.savedAt !== 'string') return undefined;
      return { key, savedAt: entry.savedAt, value: entry.value, file };
    } catch (error) {
      this.#logger.warn(`graylane: ignoring the unreadable Nacos failover cache file ${file}: ${(error as Error).message}`);
      return undefined;
    }
  }

  /** Saves `value` for `key` in the background. */
  save(kind: CacheKind, key: string, value: unknown): void {
    const text = JSON.stringify({ key, savedAt: new Date().toISOString(), value });
    this.#enqueue(kind, key, async (file) => {
      if (Buffer.byteLength(text) > MAX_ENTRY_BYTES) {
        this.#logger.warn(`graylane: not caching Nacos ${kind} ${key}: larger than ${MAX_ENTRY_BYTES} bytes`);
        await rm(file, { force: true });
        return;
      }
      await mkdir(join(this.#dir, kind), { recursive: true });
      const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      try {
        await writeFile(temporary, text);
        await rename(temporary, file);
      } catch (error) {
        await rm(temporary, { force: true });
        throw error;
      }
      if (!this.#written.has(file)) {
        this.#written.add(file);
        await this.#evict(kind);
      }
    });
  }

  /** Removes the entry for `key` in the background (the config was deleted). */
  remove(kind: CacheKind, key: string): void {
    this.#enqueue(kind, key, (file) => rm(file, { force: true }));
  }

  /** Resolves once every write started so far has finished. */
  async flush(): Promise<void> {
    await Promise.all(this.#writes.values());
  }

  #enqueue(kind: CacheKind, key: string, write: (file: string) => Promise<void>): void {
    const file = this.#file(kind, key);
    const next = (this.#writes.get(file) ?? Promise.resolve())
      .then(() => write(file))
      .catch((error: unknown) => {
        if (this.#warned) return;
        this.#warned = true;
        this.#logger.warn(`graylane: cannot write the Nacos failover cache in ${this.#dir} (${(error as Error).message}); outages will not be bridged from it`);
      })
      .finally(() => {
        if (this.#writes.get(file) === next) this.#writes.delete(file);
      });
    this.#writes.set(file, next);
  }

  /** Keeps at most {@link MAX_ENTRIES} files of a kind, removing the least recently written. */
  async #evict(kind: CacheKind): Promise<void> {
    const folder = join(this.#dir, kind);
    const names = (await readdir(folder)).filter((name) => name.endsWith('.json'));
    if (names.length <= MAX_ENTRIES) return;
    const files = await Promise.all(
      names.map(async (name) => ({ path: join(folder, name), mtimeMs: (await stat(join(folder, name)).catch(() => undefined))?.mtimeMs ?? 0 })),
    );
    files.sort((a, b) => a.mtimeMs - b.mtimeMs);
    await Promise.all(files.slice(0, files.length - MAX_ENTRIES).map((file) => rm(file.path, { force: true })));
  }

  /** `naming/DEFAULT_GROUP_orders-1f2e3d4c5b6a.json`: readable, bounded in length, unique per key. */
  #file(kind: CacheKind, key: string): string {
    const readable = key.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80);
    const hash = createHash('sha256').update(key).digest('hex').slice(0, 12);
    return join(this.#dir, kind, `${readable}-${hash}.json`);
  }
}
