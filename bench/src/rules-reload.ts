/**
 * Rule loading at 10,000 lanes: `rules.parse_10k_ms`, a synchronous `parseRules` of a 10,000-lane
 * text (median), and `rules.reload_block_ms`, the longest the event loop is held during a reload
 * done as a serving process should do it: parsed and checked on a worker thread
 * (`parseRulesInWorker`), compiled in slices (`compileMatcherInSlices`). The block is measured with
 * `perf_hooks.monitorEventLoopDelay` (resolution 1 ms) while a 1 ms interval keeps the loop busy.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { compileMatcherInSlices, requestView } from '@graylane/matcher';
import { parseRules, parseRulesInWorker } from '@graylane/rules';

/** A native rule text of `n` lanes, each with an exact header rule and an AND of a list and a regex. */
export function laneText(n: number): string {
  const out = ['lanes:'];
  for (let i = 0; i < n; i++) {
    out.push(
      `  - tag: lane-${i}`,
      '    match:',
      `      - { type: header, name: x-user-id, operator: '==', value: 'user-${i}' }`,
      `      - all: [{ type: query, name: g, operator: in, values: [a${i}, b${i}] }, { type: header, name: x-env, operator: regex, value: '^env-${i}-[a-z]+$' }]`,
    );
  }
  return `${out.join('\n')}\n`;
}

export async function benchRulesReload(options: { rounds: number; lanes?: number }): Promise<{ parseMs: number; reloadBlockMs: number; reloadMs: number }> {
  const lanes = options.lanes ?? 10_000;
  const text = laneText(lanes);
  const parses: number[] = [];
  const blocks: number[] = [];
  const reloads: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    const t0 = performance.now();
    const parsed = parseRules(text);
    parses.push(performance.now() - t0);
    if (parsed.rules.lanes.length !== lanes) throw new Error(`parsed ${parsed.rules.lanes.length} lanes, expected ${lanes}`);

    const histogram = monitorEventLoopDelay({ resolution: 1 });
    const busy = setInterval(() => undefined, 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    histogram.enable();
    const t1 = performance.now();
    const reloaded = await parseRulesInWorker(text);
    const matcher = await compileMatcherInSlices(reloaded.rules);
    reloads.push(performance.now() - t1);
    histogram.disable();
    clearInterval(busy);
    blocks.push(histogram.max / 1e6);
    // Consume the result, so that the work cannot be dropped, and check it decides.
    if (matcher.match(requestView({ headers: { 'x-user-id': `user-${lanes - 1}` } })) !== `lane-${lanes - 1}`) throw new Error('the reloaded matcher is wrong');
  }
  return { parseMs: median(parses), reloadBlockMs: Math.max(...blocks), reloadMs: median(reloads) };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
