/**
 * The file registry's reading side: one watch per subscribed service, on `fs.watch` events and a
 * poll, delivering the service's live instances (a snapshot, sorted) on real changes only.
 */
import { constants as fsConstants, mkdirSync, watch, type FSWatcher, type Stats } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Instance, InstancesListener } from '@graylane/core';
import { byId, deliver, fingerprint } from '../instance.js';
import { HOSTNAME, MAX_RECORD_BYTES, parseRecord, recordInstance, serviceDir, type FileRecord } from './record.js';

/** Options of {@link createFileWatcher}, validated by the caller. */
export interface FileWatcherOptions {
  readonly dir: string;
  /** An instance whose heartbeat (the file's mtime) is older than this is gone. */
  readonly staleMs: number;
  /** How often every watched service is read again, besides `fs.watch` events. */
  readonly pollMs: number;
  readonly onDiagnostic: ((message: string) => void) | undefined;
}

/** Follows services in the registry's directory. */
export interface FileWatcher {
  /** As `Registry.subscribe`: the current list soon, then every real change; returns the unsubscribe. */
  subscribe(service: string, listener: InstancesListener): () => void;
  /** Stops every watch and the poll; nothing is delivered afterwards. */
  close(): void;
}

/** The state of one watched service. */
interface Watch {
  readonly service: string;
  readonly dir: string;
  readonly listeners: Set<InstancesListener>;
  watcher: FSWatcher | undefined;
  /** Parsed files by name, re-read only when their mtime or size changes. */
  readonly files: Map<string, CachedFile>;
  /** The last delivered list, and its fingerprint; `undefined` before the first delivery. */
  last: { readonly instances: readonly Instance[]; readonly fingerprint: string } | undefined;
  scanning: boolean;
  rescan: boolean;
  debounce: NodeJS.Timeout | undefined;
}

interface CachedFile {
  readonly mtimeMs: number;
  readonly size: number;
  /** Why the file is skipped (reported once), when it is not a readable record. */
  readonly skipped?: string | undefined;
  readonly record: FileRecord | undefined;
  readonly instance: Instance | undefined;
}

/** A watcher of the services in `options.dir`. Never throws from a scan; timers and `fs.watch` are unref'd. */
export function createFileWatcher(options: FileWatcherOptions): FileWatcher {
  const { dir, staleMs, pollMs, onDiagnostic } = options;
  const watches = new Map<string, Watch>();
  let poll: NodeJS.Timeout | undefined;
  let closed = false;

  function startPolling(): void {
    poll ??= setInterval(() => {
      for (const w of watches.values()) {
        if (w.watcher === undefined) startFsWatch(w);
        void scan(w);
      }
    }, pollMs).unref();
  }

  function startFsWatch(w: Watch): void {
    try {
      mkdirSync(w.dir, { recursive: true });
      const watcher = watch(w.dir, { persistent: false }, () => scheduleScan(w));
      watcher.on('error', () => {
        watcher.close();
        if (w.watcher === watcher) w.watcher = undefined; // the poll retries
      });
      w.watcher = watcher;
    } catch {
      w.watcher = undefined; // unwritable or unwatchable directory: polling alone still works
    }
  }

  function scheduleScan(w: Watch): void {
    // A registration is a write and a rename: coalesce the burst of events into one read.
    w.debounce ??= setTimeout(() => {
      w.debounce = undefined;
      void scan(w);
    }, 10).unref();
  }

  async function scan(w: Watch): Promise<void> {
    if (w.scanning) {
      w.rescan = true;
      return;
    }
    w.scanning = true;
    try {
      do {
        w.rescan = false;
        const instances = await readService(w);
        if (closed || watches.get(w.service) !== w) return;
        const print = fingerprint(instances);
        if (w.last?.fingerprint === print) continue;
        w.last = { instances, fingerprint: print };
        for (const listener of [...w.listeners]) if (w.listeners.has(listener)) deliver(listener, instances);
      } while (w.rescan);
    } catch {
      // Never throw from a watcher; the next poll tries again.
    } finally {
      w.scanning = false;
    }
  }

  /** The snapshot of a service: its live instances, sorted by id, frozen. */
  async function readService(w: Watch): Promise<readonly Instance[]> {
    let names: string[];
    try {
      names = (await readdir(w.dir)).filter((name) => name.endsWith('.json'));
    } catch {
      names = []; // no directory yet: nobody registered
    }
    const now = Date.now();
    const instances = new Map<string, Instance>();
    const seen = new Set<string>();
    for (const name of names) {
      seen.add(name);
      const file = await readCached(w, name);
      if (file?.record === undefined || file.instance === undefined) continue;
      if (now - file.mtimeMs > staleMs) continue;
      if (file.record.hostname === HOSTNAME && !isAlive(file.record.pid)) continue;
      instances.set(file.instance.id, file.instance);
    }
    for (const name of w.files.keys()) if (!seen.has(name)) w.files.delete(name);
    return Object.freeze([...instances.values()].sort(byId));
  }

  async function readCached(w: Watch, name: string): Promise<CachedFile | undefined> {
    const path = join(w.dir, name);
    try {
      // stat (which never blocks), never open first: opening a FIFO for reading blocks a libuv thread until a writer
      // comes, and four of them freeze every file operation of the process.
      const found = await stat(path);
      const cached = w.files.get(name);
      if (cached !== undefined && cached.mtimeMs === found.mtimeMs && cached.size === found.size) return cached;
      const read = found.isFile() ? await readRegularFile(path, MAX_RECORD_BYTES) : { skipped: `is not a regular file (${fileType(found)})` };
      if ('skipped' in read) {
        const file: CachedFile = { mtimeMs: found.mtimeMs, size: found.size, skipped: read.skipped, record: undefined, instance: undefined };
        w.files.set(name, file);
        diagnose(`graylane: file registry skips ${path}: it ${read.skipped}`);
        return file;
      }
      const record = parseRecord(read.text, w.service);
      // A file caught mid-edit keeps its last good content until it parses again.
      const file: CachedFile =
        record === undefined && cached?.record !== undefined
          ? { ...cached, mtimeMs: found.mtimeMs, size: found.size }
          : { mtimeMs: found.mtimeMs, size: found.size, record, instance: record && recordInstance(record) };
      w.files.set(name, file);
      return file;
    } catch {
      w.files.delete(name); // deleted between readdir and read
      return undefined;
    }
  }

  function diagnose(message: string): void {
    if (onDiagnostic === undefined) return;
    try {
      onDiagnostic(message);
    } catch {
      // A reporter's failure must not stop discovery.
    }
  }

  return {
    subscribe(service, listener) {
      let w = watches.get(service);
      if (w === undefined) {
        w = {
          service,
          dir: serviceDir(dir, service),
          listeners: new Set(),
          watcher: undefined,
          files: new Map(),
          last: undefined,
          scanning: false,
          rescan: false,
          debounce: undefined,
        };
        watches.set(service, w);
        startFsWatch(w);
        startPolling();
        void scan(w);
      }
      const watched = w;
      const own: InstancesListener = (instances) => listener(instances);
      watched.listeners.add(own);
      // A late subscriber gets the current list at once; the first scan serves the others.
      if (watched.last !== undefined) {
        const { instances } = watched.last;
        queueMicrotask(() => {
          if (watched.listeners.has(own)) deliver(own, instances);
        });
      }
      return () => {
        watched.listeners.delete(own);
        if (watched.listeners.size > 0 || watches.get(service) !== watched) return;
        watches.delete(service);
        stopWatch(watched);
        if (watches.size === 0) {
          clearInterval(poll);
          poll = undefined;
        }
      };
    },

    close() {
      closed = true;
      clearInterval(poll);
      for (const w of watches.values()) stopWatch(w);
      watches.clear();
    },
  };
}

function stopWatch(w: Watch): void {
  w.listeners.clear();
  w.watcher?.close();
  w.watcher = undefined;
  clearTimeout(w.debounce);
}

/**
 * The text of `path` when it is a regular file of at most `maxBytes`, else why it is not read.
 * Opened without blocking (a FIFO swapped in after the caller's `stat` does not hang the open),
 * then checked again on the open descriptor.
 */
async function readRegularFile(path: string, maxBytes: number): Promise<{ text: string } | { skipped: string }> {
  const flags = fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0);
  const handle = await open(path, flags);
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) return { skipped: `is not a regular file (${fileType(stats)})` };
    if (stats.size > maxBytes) return { skipped: `is larger (${stats.size} bytes) than a record can be (${maxBytes})` };
    const buffer = Buffer.alloc(Math.min(maxBytes, stats.size + 1));
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return { text: buffer.toString('utf8', 0, length) };
  } finally {
    await handle.close();
  }
}

function fileType(stats: Stats): string {
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  if (stats.isDirectory()) return 'a directory';
  return 'not a regular file';
}

/** True unless `pid` certainly names no process (EPERM: alive, but someone else's). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
