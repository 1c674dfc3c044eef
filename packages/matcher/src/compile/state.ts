/**
 * Per-request state shared by a matcher's compiled tests. `epoch` changes at the start of every
 * match, which invalidates every memoised field value and predicate result at once.
 */
export interface MatchState {
  epoch: number;
  /** The request's random bucket (0-99), drawn on first use; -1 until then. */
  draw: number;
  /** Source of randomness: a number in [0, 1). */
  readonly random: () => number;
}

/** Starts a new request. */
export function nextRequest(state: MatchState): void {
  state.epoch++;
  state.draw = -1;
}

/** The request's random bucket, drawn once per request and shared by every random test. */
export function randomBucket(state: MatchState): number {
  if (state.draw < 0) state.draw = Math.min(99, Math.floor(state.random() * 100));
  return state.draw;
}
