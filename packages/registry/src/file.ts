/**
 * The file registry: options, where its directory is, and the {@link Registry} made of its two
 * halves, the writer of this process's records (`file/writer.ts`) and the watcher of the services
 * it subscribed to (`file/watcher.ts`); the record format itself is `file/record.ts`.
 */
import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { ErrorCode, GraylaneError, type Registry } from '@graylane/core';
import { closedError } from './instance.js';
import { createFileWatcher } from './file/watcher.js';
import { createFileWriter } from './file/writer.js';

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
  validateOptions(dir, heartbeatMs, staleMs, pollMs);

  const writer = createFileWriter(dir, heartbeatMs);
  const watcher = createFileWatcher({ dir, staleMs, pollMs, onDiagnostic: options.onDiagnostic });
  let closed = false;

  return {
    kind: 'file',
    dir,

    register(registration) {
      if (closed) return Promise.reject(closedError('file'));
      try {
        return writer.register(registration);
      } catch (error) {
        return Promise.reject(error); // an invalid registration
      }
    },

    deregister(registration) {
      if (closed) return Promise.reject(closedError('file'));
      return writer.deregister(registration);
    },

    subscribe(service, listener) {
      if (closed) throw closedError('file');
      return watcher.subscribe(service, listener);
    },

    async close() {
      if (closed) return;
      closed = true;
      watcher.close();
      await writer.close();
    },
  };
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
