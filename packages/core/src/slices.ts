/** Options of {@link runInSlices}. */
export interface SliceOptions {
  /** Longest stretch of steps between two turns of the event loop, in ms; 0 (the default): one step a turn. */
  readonly sliceMs?: number;
  /** Stops at the next turn: the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/**
 * Runs a generator of bounded steps to its end without holding the event loop: steps run until
 * `sliceMs` has passed, then the loop gets a turn (`setImmediate`, about 1 µs on an idle loop),
 * and so on. Begins on a turn of its own: the caller's turn has had its share.
 */
export async function runInSlices<T>(steps: Generator<void, T, void>, options: SliceOptions = {}): Promise<T> {
  const { sliceMs = 0, signal } = options;
  await nextTurn();
  signal?.throwIfAborted();
  let deadline = performance.now() + sliceMs;
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (sliceMs > 0 && performance.now() < deadline) continue;
    await nextTurn();
    signal?.throwIfAborted();
    deadline = performance.now() + sliceMs;
  }
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
