import { watch as watchFs } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
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
}

const DEFAULT_POLL_INTERVAL_MS = 1000;
const DEFAULT_DEBOUNCE_MS = 100;

/**
 * Rules in a file (YAML or JSON, any form `parseRules` reads). A missing file reads as no rules.
 *
 * Changes are seen through events on the file's folder, which also catch editors that save by
 * renaming a new file over the old one and Kubernetes ConfigMap volumes (which swap a symlink), plus
 * a bounded poll of the file's `stat` as a fallback. Each change is read whole after `debounceMs`
 * of quiet.
 *
 * @throws GraylaneError `GRAYLANE_ERR_CONFIG_INVALID` for an empty path or invalid intervals.
 */
export function fileRuleSource(path: string, options: FileRuleSourceOptions = {}): RuleSource {
  if (typeof path !== 'string' || path.trim() === '') {
    throw new GraylaneError(ErrorCode.CONFIG_INVALID, 'fileRuleSource: `path` must be a non-empty string', { details: { path: 'path' } });
  }
  const pollIntervalMs = positive(options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS, 'pollIntervalMs');
  const debounceMs = positive(options.debounceMs ?? DEFAULT_DEBOUNCE_MS, 'debounceMs');
  const file = resolve(path);
  return {
    kind: 'file',
    location: file,
    load: () => readRules(file),
    watch: (listener) => followFile(file, listener, { pollIntervalMs, debounceMs }),
  };
}

async function readRules(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Watches `file` until the returned function is called; see {@link fileRuleSource}. */
function followFile(file: string, listener: RuleSourceListener, timing: { pollIntervalMs: number; debounceMs: number }): () => void {
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
    do {
      again = false;
      let text: string | undefined;
      try {
        text = await readRules(file);
      } catch (error) {
        diag.warn(`graylane: cannot read rules file ${file}: ${(error as Error).message}`);
        continue;
      }
      if (stopped || (delivered && delivered.text === text)) continue;
      delivered = { text };
      listener(text);
    } while (again && !stopped);
    reading = false;
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
    stat(file).then(
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
