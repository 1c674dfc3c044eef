import { constants as fsConstants, watch as watchFs } from 'node:fs';
import type { FSWatcher, Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { diag } from '@opentelemetry/api';
import { ErrorCode, GraylaneError } from '@graylane/core';
import type { RuleSource, RuleSourceListener } from './source.js';

/** Options of {@link fileRuleSource}. */
export interface FileRuleSourceOptions {
  /**
   * How often the file's identity, size and modification time are checked, in case file-system
   * events are missed (network file systems, some container mounts) or cannot be watched at all.
   * Default 1000 ms.
   */
  readonly pollIntervalMs?: number | undefined;
  /**
   * Quiet time after a change before the file is read, so that an editor's save in several steps
   * (truncate, write, rename) is read once, whole. Default 100 ms.
   */
  readonly debounceMs?: number | undefined;
  /**
   * How long a read must stay true before it is taken: the file is read, then after `settleMs`
   * read again, and applied only when its identity, size, modification time and content are the
   * same both times. A writer that rewrites the file in place in pieces, pausing less than
   * `debounceMs + settleMs` between them, is never read half-way; writers that rename a complete
   * file over the old one are always read whole. Default 150 ms.
   */
  readonly settleMs?: number | undefined;
}

const DEFAULT_POLL_INTERVAL_MS = 1000;
const DEFAULT_DEBOUNCE_MS = 100;
const DEFAULT_SETTLE_MS = 150;
/** The largest rules file read; larger ones are refused, not read in part. */
const MAX_RULES_BYTES = 16 * 1024 * 1024;
/** How many times `load` reads a file that keeps changing before it gives up (and the manager retries). */
const MAX_LOAD_ATTEMPTS = 10;

/**
 * Rules in a file (YAML or JSON, any form `parseRules` reads). A missing file reads as no rules.
 *
 * Changes are seen through events on the file's folder, which also catch editors that save by
 * renaming a new file over the old one and Kubernetes ConfigMap volumes (which swap a symlink), plus
 * a bounded poll of the file's `stat` as a fallback. Each change is read after `debounceMs` of
 * quiet, and taken only when a second read `settleMs` later finds the same file with the same
 * content (a torn write is never applied). Only a regular file is opened (a symbolic link to one is
 * followed): a FIFO, socket, device or directory at the path is reported through `diag` and
 * skipped, never opened for reading, and reloading resumes when a regular file replaces it.
 *
 * @throws GraylaneError `GRAYLANE_ERR_CONFIG_INVALID` for an empty path or invalid intervals.
 */
export function fileRuleSource(path: string, options: FileRuleSourceOptions = {}): RuleSource {
  if (typeof path !== 'string' || path.trim() === '') {
    throw new GraylaneError(ErrorCode.CONFIG_INVALID, 'fileRuleSource: `path` must be a non-empty string', { details: { path: 'path' } });
  }
  const pollIntervalMs = positive(options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS, 'pollIntervalMs');
  const debounceMs = positive(options.debounceMs ?? DEFAULT_DEBOUNCE_MS, 'debounceMs');
  const settleMs = positive(options.settleMs ?? DEFAULT_SETTLE_MS, 'settleMs');
  const file = resolve(path);
  return {
    kind: 'file',
    location: file,
    load: () => loadRules(file, settleMs, debounceMs + settleMs),
    watch: (listener) => followFile(file, listener, { pollIntervalMs, debounceMs, settleMs }),
  };
}

/** A read of the rules file: its text (`undefined` when there is none) and what identifies that version of it. */
interface Read {
  readonly text: string | undefined;
  readonly signature: string;
  /** The file's modification time, `undefined` when there is no file. */
  readonly mtimeMs?: number | undefined;
}

const UNSTABLE = Symbol('unstable');

/** The file's text once two reads `settleMs` apart agree, for the first load. */
async function loadRules(file: string, settleMs: number, quietMs: number): Promise<string | undefined> {
  for (let attempt = 0; attempt < MAX_LOAD_ATTEMPTS; attempt++) {
    const text = await readSettled(file, settleMs, quietMs);
    if (text !== UNSTABLE) return text;
  }
  throw new GraylaneError(ErrorCode.CONFIG_INVALID, `rules file ${file} kept changing during ${MAX_LOAD_ATTEMPTS} reads; write it whole (a temporary file renamed over it)`, {
    details: { path: file },
  });
}

/**
 * The file's text when two reads `settleMs` apart agree, or at once when it was last modified at
 * least `quietMs` ago and did not change while read; else {@link UNSTABLE}.
 */
async function readSettled(file: string, settleMs: number, quietMs: number): Promise<string | undefined | typeof UNSTABLE> {
  const first = await readRules(file);
  // Untouched for `quietMs` (debounce + settle) already, and unchanged while read: no need to wait.
  if (first.mtimeMs !== undefined && Date.now() - first.mtimeMs >= quietMs) {
    const after = await stat(file).catch(() => undefined);
    if (after !== undefined && after.isFile() && first.signature.startsWith(`${after.ino}:${after.size}:${after.mtimeMs}:`)) return first.text;
  }
  await new Promise((resolve) => setTimeout(resolve, settleMs).unref());
  const second = await readRules(file);
  return first.signature === second.signature && first.text === second.text ? second.text : UNSTABLE;
}

/**
 * One bounded, non-blocking read of the rules file: `stat` first (which never blocks), a regular
 * file only, opened with `O_NONBLOCK` and checked again on the descriptor (a FIFO swapped in
 * between cannot hang the open), at most {@link MAX_RULES_BYTES}.
 *
 * @throws GraylaneError `GRAYLANE_ERR_CONFIG_INVALID` when the path is not a regular file or is too large.
 */
async function readRules(file: string): Promise<Read> {
  let handle;
  try {
    const found = await stat(file);
    if (!found.isFile()) throw notRegular(file, found);
    handle = await open(file, fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { text: undefined, signature: 'absent' };
    throw error;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw notRegular(file, stats);
    if (stats.size > MAX_RULES_BYTES) {
      throw new GraylaneError(ErrorCode.CONFIG_INVALID, `rules file ${file} is larger (${stats.size} bytes) than ${MAX_RULES_BYTES} bytes`, {
        details: { path: file, size: stats.size },
      });
    }
    const buffer = Buffer.alloc(Math.min(MAX_RULES_BYTES + 1, stats.size + 1));
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    // Grown while read: a second read will not agree, so the text is never taken.
    const signature = `${stats.ino}:${stats.size}:${stats.mtimeMs}:${length}`;
    return { text: buffer.toString('utf8', 0, length), signature, mtimeMs: stats.mtimeMs };
  } finally {
    await handle.close();
  }
}

function notRegular(file: string, stats: Stats): GraylaneError {
  const kind = stats.isFIFO()
    ? 'a FIFO'
    : stats.isSocket()
      ? 'a socket'
      : stats.isDirectory()
        ? 'a directory'
        : stats.isCharacterDevice() || stats.isBlockDevice()
          ? 'a device'
          : 'not a regular file';
  return new GraylaneError(ErrorCode.CONFIG_INVALID, `rules file ${file} is ${kind}, not a regular file; it is not read`, {
    details: { path: file, kind },
  });
}

/** Watches `file` until the returned function is called; see {@link fileRuleSource}. */
function followFile(
  file: string,
  listener: RuleSourceListener,
  timing: { pollIntervalMs: number; debounceMs: number; settleMs: number },
): () => void {
  let stopped = false;
  let delivered: { readonly text: string | undefined } | undefined;
  let reading = false;
  let again = false;
  let debounce: NodeJS.Timeout | undefined;
  let signature: string | undefined;

  async function check(): Promise<void> {
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    try {
      do {
        again = false;
        let text: string | undefined | typeof UNSTABLE;
        try {
          text = await readSettled(file, timing.settleMs, timing.debounceMs + timing.settleMs);
        } catch (error) {
          diag.warn(`graylane: cannot read rules file ${file}: ${(error as Error).message}`);
          continue;
        }
        if (text === UNSTABLE) {
          // Still being written: read again once it is quiet; the half-written text is never taken.
          diag.debug(`graylane: rules file ${file} changed while read; reading it again`);
          if (!stopped) schedule();
          continue;
        }
        if (stopped || (delivered && delivered.text === text)) continue;
        delivered = { text };
        listener(text);
      } while (again && !stopped);
    } finally {
      reading = false;
    }
  }

  function schedule(): void {
    clearTimeout(debounce);
    debounce = setTimeout(() => void check(), timing.debounceMs).unref();
  }

  let watcher: FSWatcher | undefined;
  try {
    // The folder, not the file: a watch on the file follows its inode and goes deaf after a rename-over save.
    watcher = watchFs(dirname(file), { persistent: false }, schedule);
    watcher.on('error', (error) => {
      diag.debug(`graylane: watching ${dirname(file)} failed (${error.message}); polling ${file} only`);
      watcher?.close();
    });
  } catch (error) {
    diag.debug(`graylane: cannot watch ${dirname(file)} (${(error as Error).message}); polling ${file} only`);
  }

  const poll = setInterval(() => {
    void stat(file).then(
      (stats) => `${stats.ino}:${stats.size}:${stats.mtimeMs}`,
      () => 'absent',
    ).then((next) => {
      if (stopped || next === signature) return;
      signature = next;
      schedule();
    });
  }, timing.pollIntervalMs).unref();

  return () => {
    stopped = true;
    clearInterval(poll);
    clearTimeout(debounce);
    watcher?.close();
  };
}

function positive(value: number, name: string): number {
  if (Number.isFinite(value) && value > 0) return value;
  throw new GraylaneError(ErrorCode.CONFIG_INVALID, `fileRuleSource: \`${name}\` must be a positive number of milliseconds, got ${String(value)}`, {
    details: { path: name, value },
  });
}
