/**
 * The file registry's writing side: the records of this process's registrations, written
 * atomically, touched every heartbeat, deleted on deregister and on a normal process exit.
 */
import { unlinkSync } from 'node:fs';
import { mkdir, rename, unlink, utimes, writeFile } from 'node:fs/promises';
import { ErrorCode, GraylaneError, type InstanceRegistration } from '@graylane/core';
import { instanceOf } from '../instance.js';
import { formatRecord, pathOf, recordOf, serviceDir, type FileRecord } from './record.js';

/** Writes and removes this process's records in `dir`. */
export interface FileWriter {
  register(registration: InstanceRegistration): Promise<void>;
  deregister(registration: InstanceRegistration): Promise<void>;
  /** Stops the heartbeat and waits for the writes in flight; the records stay (they go stale). */
  close(): Promise<void>;
}

/** Registries with registrations, whose files are removed when the process exits normally. */
const liveRegistries = new Set<() => void>();
let exitHookInstalled = false;

/** A writer of records in `dir`, touching them every `heartbeatMs`. */
export function createFileWriter(dir: string, heartbeatMs: number): FileWriter {
  /** Own registrations: file path → record. */
  const own = new Map<string, FileRecord>();
  let heartbeat: NodeJS.Timeout | undefined;
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

  return {
    register(registration) {
      const instance = instanceOf(registration);
      const path = pathOf(dir, instance.service, instance.host, instance.port);
      const record = recordOf(instance);
      return serially(async () => {
        try {
          await mkdir(serviceDir(dir, instance.service), { recursive: true });
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

    async close() {
      clearInterval(heartbeat);
      await queue;
      // Registrations stay (the Registry contract); with no heartbeat they go stale.
      liveRegistries.delete(removeOwnFiles);
    },
  };
}

/** Installs, once per process, the exit hook that removes the files of live registrations. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const remove of liveRegistries) remove();
  });
}

let tmpCounter = 0;

/** Writes `record` to `path` through a temporary file and a rename: a reader never sees half a record. */
async function writeAtomically(path: string, record: FileRecord): Promise<void> {
  const tmp = `${path}.${process.pid}.${++tmpCounter}.tmp`;
  try {
    await writeFile(tmp, formatRecord(record));
    await rename(tmp, path);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
}
