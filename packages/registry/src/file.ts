import { chmodSync, constants as fsConstants, lstatSync, mkdirSync, unlinkSync, watch, type FSWatcher, type Stats } from 'node:fs';
import { mkdir, open, readdir, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname as osHostname, tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import {
  ErrorCode,
  GraylaneError,
  createInstance,
  type Instance,
  type InstanceRegistration,
  type InstancesListener,
  type Registry,
} from '@graylane/core';
import { byId, closedError, deliver, fingerprint, instanceOf } from './instance.js';

/** Options of {@link createFileRegistry}. */
export interface FileRegistryOptions {
  /**
   * The directory the registry lives in, shared by every process that uses it. Created on demand.
   * Default {@link defaultFileRegistryDir}: `GRAYLANE_REGISTRY_DIR` when set, else a private folder
   * of the user (`$XDG_RUNTIME_DIR/graylane/registry`, else `<os.tmpdir()>/graylane-<uid>/registry`),
   * the same for every process of the user whatever its working directory.
   */
  readonly dir?: string | undefined;
  /** How often a registering process touches its files to show it is alive. Default 1000 ms. */
  readonly heartbeatMs?: number | undefined;
  /**
   * How long after its last heartbeat an instance counts as gone. Default the larger of 5000 ms and
   * three heartbeats. On the same machine a dead process is noticed sooner, by its pid; the heartbeat
   * covers processes that share the directory from another host or container, and hung ones.
   */
  readonly staleMs?: number | undefined;
  /** How often watchers re-read their services, besides reacting to `fs.watch` events. Default 250 ms. */
  readonly pollMs?: number | undefined;
  /**
   * Told, once per file and change, why a file of the directory was skipped: not a regular file
   * (a FIFO, socket, device or directory named `*.json`), larger than a record can
   * be, or not a record. Never called on the request path. Default: nothing is reported.
   */
  readonly onDiagnostic?: ((message: string) => void) | undefined;
}

/** The file registry: a {@link Registry} that also says where it lives. */
export interface FileRegistry extends Registry {
  readonly kind: 'file';
  /** The absolute path of the registry's directory. */
  readonly dir: string;
}

/** The variable that names the file registry's directory, read by {@link defaultFileRegistryDir}. */
export const REGISTRY_DIR_ENV = 'GRAYLANE_REGISTRY_DIR';

/**
 * Where the file registry lives when no `dir` is given, so that every process of one user finds
 * the others whatever directory it was started from:
 *
 * 1. `GRAYLANE_REGISTRY_DIR`, when set (a relative path is resolved from the working directory);
 * 2. else `$XDG_RUNTIME_DIR/graylane/registry` when `XDG_RUNTIME_DIR` is set (Linux desktops and
 *    `systemd --user` sessions: a folder only the user can open, emptied at log-out);
 * 3. else `<os.tmpdir()>/graylane-<uid>/registry` (`<os.tmpdir()>/graylane/registry` where there are no
 *    uids, on Windows, whose temporary folder is the user's own).
 *
 * Only computes the path; {@link createFileRegistry} creates the private folder (mode 0700) and
 * refuses one that another user owns or may write to.
 */
export function defaultFileRegistryDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return defaultLocation(env).dir;
}

/** The default directory, and the private folder above it that must be the user's own (not for `GRAYLANE_REGISTRY_DIR`). */
function defaultLocation(env: Readonly<Record<string, string | undefined>>): { dir: string; privateRoot: string | undefined } {
  const configured = env[REGISTRY_DIR_ENV]?.trim();
  if (configured) return { dir: resolve(configured), privateRoot: undefined };
  const runtime = env['XDG_RUNTIME_DIR']?.trim();
  const uid = process.getuid?.();
  const privateRoot =
    runtime && isAbsolute(runtime) ? join(runtime, 'graylane') : join(temporaryFolder(env), uid === undefined ? 'graylane' : `graylane-${uid}`);
  return { dir: join(privateRoot, 'registry'), privateRoot };
}

/** `os.tmpdir()`, read from `env` on POSIX systems as Node reads it from the process's environment. */
function temporaryFolder(env: Readonly<Record<string, string | undefined>>): string {
  if (process.platform === 'win32') return tmpdir();
  const path = env['TMPDIR'] || env['TMP'] || env['TEMP'] || '/tmp';
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

/**
 * Creates `root` (mode 0700) if needed and checks that it is safe to share registrations in: a real
 * directory (not a symlink) owned by this user, that no one else may write to. In a shared
 * temporary folder another user could otherwise create it first and read, or forge, registrations
 * (and so receive traffic). A folder of this user that others may only read is made 0700.
 */
function ensurePrivateRoot(root: string): void {
  const refuse = (reason: string, cause?: unknown): never => {
    throw new GraylaneError(
      ErrorCode.CONFIG_INVALID,
      `file registry: the default folder ${root} ${reason}; remove it, or set ${REGISTRY_DIR_ENV} to a folder of your own`,
      { details: { registry: 'file', dir: root }, ...(cause === undefined ? {} : { cause }) },
    );
  };
  try {
    mkdirSync(dirname(root), { recursive: true });
    mkdirSync(root, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') refuse(`cannot be created (${(error as Error).message})`, error);
  }
  const uid = process.getuid?.();
  if (uid === undefined) return; // Windows: the temporary folder is the user's own
  const stats = lstatSync(root);
  if (stats.isSymbolicLink() || !stats.isDirectory()) refuse('is not a directory (a symbolic link or a file)');
  if (stats.uid !== uid) refuse(`belongs to another user (uid ${stats.uid}, not ${uid})`);
  if ((stats.mode & 0o022) !== 0) refuse(`may be written by other users (mode ${(stats.mode & 0o777).toString(8)})`);
  if ((stats.mode & 0o077) !== 0) chmodSync(root, 0o700);
}

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

const HOSTNAME = osHostname();
/** Registries with registrations, whose files are removed when the process exits normally. */
const liveRegistries = new Set<() => void>();
let exitHookInstalled = false;

/**
 * A registry kept in a directory: no server, shared by every process on the machine that points at
 * the same `dir` (local development, the demo, tests across real processes).
 *
 * Each registering process writes one file per instance and touches it every `heartbeatMs`;
 * `deregister` deletes it, and so does a normal process exit. Watchers follow `fs.watch` events
 * and re-read every `pollMs`, and drop an instance whose process is dead (same host, by pid) or
 * whose heartbeat is older than `staleMs`, so a process killed with SIGKILL leaves rotation within
 * about `pollMs`. Listeners get the full list on real changes only. Half-written and foreign files
 * are skipped; watchers never throw. Timers and watchers are `unref`ed.
 *
 * @throws GraylaneError `GRAYLANE_ERR_CONFIG_INVALID` for invalid options, and when the default
 *   folder cannot be created or is not private (see {@link defaultFileRegistryDir}).
 */
export function createFileRegistry(options: FileRegistryOptions = {}): FileRegistry {
  let dir: string;
  if (options.dir === undefined) {
    const location = defaultLocation(process.env);
    if (location.privateRoot !== undefined) ensurePrivateRoot(location.privateRoot);
    dir = location.dir;
  } else {
    dir = typeof options.dir === 'string' && options.dir !== '' ? resolve(options.dir) : options.dir;
  }
  const heartbeatMs = options.heartbeatMs ?? 1000;
  const staleMs = options.staleMs ?? Math.max(5000, heartbeatMs * 3);
  const pollMs = options.pollMs ?? 250;
  const onDiagnostic = options.onDiagnostic;
  validateOptions(dir, heartbeatMs, staleMs, pollMs);

  /** Own registrations: file path → record. */
  const own = new Map<string, FileRecord>();
  const watches = new Map<string, Watch>();
  let heartbeat: NodeJS.Timeout | undefined;
  let poll: NodeJS.Timeout | undefined;
  let closed = false;
  /** Writes and deletes run one at a time, so a heartbeat can never resurrect a deregistered file. */
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(op: () => Promise<T>): Promise<T> => {
    const result = queue.then(op);
    queue = result.catch(() => undefined);
    return result;
  };

  const removeOwnFiles = (): void => {
    for (const path of own.keys()) {
      try {
        unlinkSync(path);
      } catch {
        // Already gone.
      }
    }
  };

  function fail(action: string, registration: InstanceRegistration, cause: unknown): GraylaneError {
    return new GraylaneError(
      ErrorCode.REGISTRY,
      `file registry could not ${action} ${registration.service} ${registration.host}:${registration.port} in ${dir}`,
      { details: { registry: 'file', dir, service: registration.service }, cause },
    );
  }

  async function beat(): Promise<void> {
    const now = new Date();
    for (const [path, record] of own) {
      try {
        await utimes(path, now, now);
      } catch {
        // Deleted under our feet (someone cleaned the directory): write it again.
        if (own.get(path) === record) await writeAtomically(path, record).catch(() => undefined);
      }
    }
  }

  // ---- watching -------------------------------------------------------------------------------

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

  // ---- the Registry ---------------------------------------------------------------------------

  return {
    kind: 'file',
    dir,

    register(registration) {
      if (closed) return Promise.reject(closedError('file'));
      let instance: Instance;
      try {
        instance = instanceOf(registration);
      } catch (error) {
        return Promise.reject(error);
      }
      const path = pathOf(dir, instance.service, instance.host, instance.port);
      const record: FileRecord = {
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
      return serially(async () => {
        try {
          await mkdir(join(dir, segment(instance.service)), { recursive: true });
          await writeAtomically(path, record);
        } catch (cause) {
          throw fail('register', registration, cause);
        }
        own.set(path, record);
        liveRegistries.add(removeOwnFiles);
        installExitHook();
        heartbeat ??= setInterval(() => void serially(beat), heartbeatMs).unref();
      });
    },

    deregister(registration) {
      if (closed) return Promise.reject(closedError('file'));
      const path = pathOf(dir, registration.service, registration.host, registration.port);
      return serially(async () => {
        own.delete(path);
        if (own.size === 0) {
          liveRegistries.delete(removeOwnFiles);
          clearInterval(heartbeat);
          heartbeat = undefined;
        }
        try {
          await unlink(path);
        } catch (cause) {
          if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') throw fail('deregister', registration, cause);
        }
      });
    },

    subscribe(service, listener) {
      if (closed) throw closedError('file');
      let w = watches.get(service);
      if (w === undefined) {
        w = {
          service,
          dir: join(dir, segment(service)),
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

    async close() {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      clearInterval(poll);
      for (const w of watches.values()) stopWatch(w);
      watches.clear();
      await queue;
      // Registrations stay (the Registry contract); with no heartbeat they go stale.
      liveRegistries.delete(removeOwnFiles);
    },
  };
}

function stopWatch(w: Watch): void {
  w.listeners.clear();
  w.watcher?.close();
  w.watcher = undefined;
  clearTimeout(w.debounce);
}

function validateOptions(dir: unknown, heartbeatMs: number, staleMs: number, pollMs: number): void {
  const issues: string[] = [];
  if (typeof dir !== 'string' || dir === '') issues.push('dir must be a non-empty path');
  const positive = (name: string, value: number) => {
    if (!(Number.isFinite(value) && value > 0)) issues.push(`${name} must be a positive number of milliseconds, got ${String(value)}`);
  };
  positive('heartbeatMs', heartbeatMs);
  positive('staleMs', staleMs);
  positive('pollMs', pollMs);
  if (staleMs <= heartbeatMs) issues.push(`staleMs (${staleMs}) must exceed heartbeatMs (${heartbeatMs})`);
  if (issues.length > 0) {
    throw new GraylaneError(ErrorCode.CONFIG_INVALID, `invalid file registry options: ${issues.join('; ')}`, {
      details: { issues },
    });
  }
}

/** Installs, once per process, the exit hook that removes the files of live registrations. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const remove of liveRegistries) remove();
  });
}

/** A name safe as one path segment: URI-encoded, and never `.` or `..`. */
function segment(name: string): string {
  return encodeURIComponent(name).replace(/^\.+$/, (dots) => '%2E'.repeat(dots.length));
}

function pathOf(dir: string, service: string, host: string, port: number): string {
  return join(dir, segment(service), `${segment(host)}_${port}.json`);
}

let tmpCounter = 0;

async function writeAtomically(path: string, record: FileRecord): Promise<void> {
  const tmp = `${path}.${process.pid}.${++tmpCounter}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify(record, null, 2)}\n`);
    await rename(tmp, path);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
}

/** The largest record file read; a record is well under 1 KiB unless its metadata is huge. */
const MAX_RECORD_BYTES = 1024 * 1024;

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

/** The record in `text`, or `undefined` when it is not a well-formed record of `service`. */
function parseRecord(text: string, service: string): FileRecord | undefined {
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

function recordInstance(record: FileRecord): Instance {
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
