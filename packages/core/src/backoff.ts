/** The shape of an exponential backoff; see {@link backoffDelay}. */
export interface BackoffCurve {
  /** The delay before the first retry, in milliseconds. */
  readonly firstMs: number;
  /** The longest delay, in milliseconds. */
  readonly maxMs: number;
  /**
   * Draw each delay from [50 %, 100 %] of the curve ("equal jitter"), so that many clients that
   * failed together do not retry together. Default true.
   */
  readonly jitter?: boolean;
}

/**
 * The delay before retry number `attempt` (0-based) on `curve`: `firstMs`, doubling with each
 * attempt, at most `maxMs`, jittered unless the curve says otherwise. The one backoff of graylane:
 * Nacos reconnects, Nacos state retries and rule reloads all wait by it.
 *
 * @param random a source of numbers in [0, 1), for tests; default `Math.random`.
 */
export function backoffDelay(attempt: number, curve: BackoffCurve, random: () => number = Math.random): number {
  const delay = Math.min(curve.maxMs, curve.firstMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return curve.jitter === false ? delay : delay * (0.5 + random() / 2);
}
