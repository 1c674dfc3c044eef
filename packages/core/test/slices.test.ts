import { runInSlices } from '../src/index.js';

/** Steps that record, at each, how many turns of the event loop other work has had. */
function* counted(steps: number, turns: () => number, seen: number[]): Generator<void, string, void> {
  for (let i = 0; i < steps; i++) {
    seen.push(turns());
    yield;
  }
  return 'done';
}

/** Counts turns of the event loop until stopped. */
function turnCounter(): { turns: () => number; stop: () => void } {
  let turns = 0;
  let running = true;
  const tick = () => {
    turns++;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  return { turns: () => turns, stop: () => (running = false) };
}

describe('runInSlices', () => {
  it('runs every step and returns the result, one step a turn by default', async () => {
    const counter = turnCounter();
    const seen: number[] = [];
    await expect(runInSlices(counted(5, counter.turns, seen))).resolves.toBe('done');
    counter.stop();
    expect(seen).toHaveLength(5);
    // Other work ran between every two steps.
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]!);
  });

  it('begins on a turn of its own', async () => {
    const seen: number[] = [];
    const run = runInSlices(counted(1, () => 0, seen));
    expect(seen).toEqual([]);
    await run;
    expect(seen).toEqual([0]);
  });

  it('runs steps within a slice without giving the loop a turn', async () => {
    const counter = turnCounter();
    const seen: number[] = [];
    await runInSlices(counted(50, counter.turns, seen), { sliceMs: 60_000 });
    counter.stop();
    expect(new Set(seen).size).toBe(1);
  });

  it('stops at the next turn once aborted, with the signal\'s reason', async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    function* endless(): Generator<void, never, void> {
      for (;;) {
        seen.push(1);
        if (seen.length === 3) controller.abort(new Error('enough'));
        yield;
      }
    }
    await expect(runInSlices(endless(), { signal: controller.signal })).rejects.toThrow('enough');
    expect(seen).toHaveLength(3);
  });
});
