import type { RequestView } from '../request-view.js';
import type { FieldReader } from './field.js';

/**
 * The scratch space of one evaluation: each distinct field's value and each shared predicate's
 * result, read or computed at most once per request and stamped with the request's `epoch`, so
 * nothing is cleared or allocated between requests.
 *
 * Evaluation is fully synchronous, so one frame per matcher would do, except that an attribute may
 * itself call the same matcher (re-entrancy). A matcher therefore keeps a frame per call depth:
 * a nested call gets its own frame and never sees, or clobbers, its caller's values.
 */
export class Frame {
  epoch = 0;
  /** The request's random bucket (0-99), drawn on first use; -1 until then. */
  draw = -1;
  readonly fieldStamps: Int32Array;
  readonly fieldValues: (string | undefined)[];
  readonly predicateStamps: Int32Array;
  readonly predicateResults: Uint8Array;
  /** Where a candidate index is in each list it walks (`CandidateIndex.first`). */
  readonly cursors: Int32Array;

  constructor(
    /** The field readers, by slot (shared by every frame of a matcher). */
    readonly readers: readonly FieldReader[],
    predicates: number,
    /** Source of randomness: a number in [0, 1). */
    readonly random: () => number,
    /** Entries of `cursors`: what the matcher's candidate index needs, or 0. */
    cursors = 0,
  ) {
    this.fieldStamps = new Int32Array(readers.length);
    this.fieldValues = new Array<string | undefined>(readers.length).fill(undefined);
    this.predicateStamps = new Int32Array(predicates);
    this.predicateResults = new Uint8Array(predicates);
    this.cursors = new Int32Array(cursors);
  }
}

/** Largest epoch before the stamps are reset (Int32Array). */
const MAX_EPOCH = 0x7fffffff;

/** Starts a new request on `frame`: every field value and shared result is stale from now on. */
export function nextRequest(frame: Frame): void {
  frame.draw = -1;
  if (++frame.epoch === MAX_EPOCH) {
    frame.fieldStamps.fill(0);
    frame.predicateStamps.fill(0);
    frame.epoch = 1;
  }
}

/** The value of field slot `slot` for this request, read on first use. */
export function fieldValue(req: RequestView, frame: Frame, slot: number): string | undefined {
  if (frame.fieldStamps[slot] === frame.epoch) return frame.fieldValues[slot];
  const value = frame.readers[slot]!(req);
  frame.fieldValues[slot] = value;
  frame.fieldStamps[slot] = frame.epoch;
  return value;
}

/** The request's random bucket, drawn once per request and shared by every random test. */
export function randomBucket(frame: Frame): number {
  if (frame.draw < 0) frame.draw = Math.min(99, Math.floor(frame.random() * 100));
  return frame.draw;
}
