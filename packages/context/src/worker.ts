import { workerData as currentWorkerData } from 'node:worker_threads';
import { diag } from '@opentelemetry/api';
import { getLane, laneOrBase, withLane } from './lane.js';
import { ensureContextManager } from './manager.js';

const FIELD = '@graylane/lane';

/** `workerData` that carries a lane into a worker thread: the lane next to the caller's data. */
export interface LaneWorkerData<T> {
  /** The lane, or `null` for base (structured clone keeps `null`, not a missing key's meaning). */
  readonly [FIELD]: string | null;
  /** The caller's own worker data. */
  readonly data: T;
}

/**
 * Wraps `data` with `lane` (default: the current lane) for `new Worker(file, { workerData })`.
 * A worker starts with an empty context; inside it, {@link runInWorkerWithLane} restores the lane.
 */
export function laneWorkerData<T>(data: T, lane: string | undefined = getLane()): LaneWorkerData<T> {
  return { [FIELD]: laneOrBase(lane, 'laneWorkerData') ?? null, data };
}

/**
 * In a worker thread: installs a context manager if needed, then runs `fn` with the caller's data in
 * the lane that {@link laneWorkerData} carried, and returns its result. `workerData` defaults to the
 * thread's own; data not made by {@link laneWorkerData} is passed through and runs in the base lane.
 */
export function runInWorkerWithLane<T, R>(fn: (data: T) => R, workerData: unknown = currentWorkerData): R {
  ensureContextManager();
  if (!isLaneWorkerData<T>(workerData)) {
    diag.debug('graylane: workerData carries no lane (use laneWorkerData); the worker runs in the base lane');
    return withLane(undefined, () => fn(workerData as T));
  }
  return withLane(workerData[FIELD] ?? undefined, () => fn(workerData.data));
}

function isLaneWorkerData<T>(value: unknown): value is LaneWorkerData<T> {
  return typeof value === 'object' && value !== null && FIELD in value && 'data' in value;
}
