/**
 * The micro benchmarks' shared measure: tinybench tasks that each run a batch of operations, run
 * for several rounds, and the median over rounds of each task's per-round median, per operation.
 */
import type { Bench } from 'tinybench';

/**
 * Runs `bench` `rounds` times and returns the median ns per operation of a task by name (each task
 * runs `batch` operations per iteration). Throws when a task did not complete, or when asked for a
 * task the bench does not have.
 */
export async function nsPerOperation(bench: Bench, rounds: number, batch: number): Promise<(task: string) => number> {
  const perRound = new Map<string, number[]>();
  for (let round = 0; round < rounds; round++) {
    await bench.run();
    for (const task of bench.tasks) {
      const result = task.result;
      if (result.state !== 'completed') throw new Error(`${task.name}: ${result.state}`);
      const list = perRound.get(task.name) ?? [];
      list.push((result.latency.p50 * 1e6) / batch);
      perRound.set(task.name, list);
    }
  }
  return (task) => {
    const values = perRound.get(task);
    if (values === undefined) throw new Error(`no benchmark task named "${task}"`);
    return median(values);
  };
}

/** The middle value (the upper one of an even count); NaN for none. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
