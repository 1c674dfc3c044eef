/**
 * Rule loading at 10,000 lanes.
 *
 * - `rules.parse_10k_ms`: a synchronous `parseRules` of a 10,000-lane text (median of the rounds).
 * - `rules.reload_block_ms`: the longest the event loop is held while a serving process's rules
 *   manager (`createRulesManager`, as `startGraylane` makes it, and its router given each revision's
 *   fallback policy, as `startGraylane` wires them) applies a new 10,000-lane content
 *   in which 1 % of the lanes changed, the way rules change in practice. The manager parses a
 *   content that large on its rules worker and compiles it in slices, reusing the regexes of the
 *   rules in force (docs/reference/rules.md, "Large rule sets and reloads"). Measured as the
 *   longest delay of a 1 ms interval (what a request waiting on the loop sees), the maximum over
 *   the rounds; `rules.reload_gc_max_ms` is the longest single garbage collection pause within.
 *   Each watch starts from a collected heap and ends with a young-generation collection (see `held`).
 * - `rules.load_block_ms`: the same for the first content of a new manager: every regex compiled.
 */
import { loadavg } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { requestView } from '@graylane/matcher';
import { createRulesManager, followRulesPolicy } from '@graylane/node';
import { createRouter } from '@graylane/router';
import type { RuleSource, RuleSourceListener, RulesManager } from '@graylane/node';
import { parseRules } from '@graylane/rules';

/** A native rule text of `n` lanes, each with an exact header rule and an AND of a list and a regex; `changed` lanes get new values. */
export function laneText(n: number, version = 0, changedEvery = 100): string {
  const out = ['lanes:'];
  for (let i = 0; i < n; i++) {
    const v = i % changedEvery === 0 ? `-v${version}` : '';
    out.push(
      `  - tag: lane-${i}`,
      '    match:',
      `      - { type: header, name: x-user-id, operator: '==', value: 'user-${i}${v}' }`,
      `      - all: [{ type: query, name: g, operator: in, values: [a${i}, b${i}] }, { type: header, name: x-env, operator: regex, value: '^env-${i}${v}-[a-z]+$' }]`,
    );
  }
  return `${out.join('\n')}\n`;
}

export interface RulesReloadResult {
  readonly parseMs: number;
  /** Longest delay of the 1 ms interval, over the reloads / the first loads. */
  readonly reloadBlockMs: number;
  readonly loadBlockMs: number;
  /** Longest single garbage collection pause during a reload / a first load. */
  readonly reloadGcMaxMs: number;
  readonly loadGcMaxMs: number;
  /** Wall time from publishing a content to its revision applied (median). */
  readonly reloadMs: number;
  readonly loadavg: readonly [number, number];
}

export async function benchRulesReload(options: { rounds: number; lanes?: number }): Promise<RulesReloadResult> {
  const lanes = options.lanes ?? 10_000;
  const parses: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    const text = laneText(lanes, round);
    const t0 = performance.now();
    const parsed = parseRules(text);
    parses.push(performance.now() - t0);
    if (parsed.rules.lanes.length !== lanes) throw new Error(`parsed ${parsed.rules.lanes.length} lanes, expected ${lanes}`);
  }

  const load1 = loadavg()[0]!;
  const loads: Held[] = [];
  const reloads: Held[] = [];
  const walls: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    const source = memorySource(laneText(lanes, 0));
    const manager = createRulesManager(source, { loadTimeoutMs: 120_000 });
    followRulesPolicy(createRouter(undefined, {}), manager);
    try {
      loads.push(await held(() => manager.ready()));
      check(manager, lanes, 0);
      for (let version = 1; version <= 2; version++) {
        const text = laneText(lanes, version); // made before the watch starts: the bench's work, not the manager's
        const t0 = performance.now();
        reloads.push(await held(() => publish(manager, source, text)));
        walls.push(performance.now() - t0);
        check(manager, lanes, version);
      }
    } finally {
      await manager.close();
    }
  }
  const max = (values: readonly Held[], key: keyof Held) => Math.max(...values.map((v) => v[key]));
  return {
    parseMs: median(parses),
    reloadBlockMs: max(reloads, 'blockMs'),
    loadBlockMs: max(loads, 'blockMs'),
    reloadGcMaxMs: max(reloads, 'gcMaxMs'),
    loadGcMaxMs: max(loads, 'gcMaxMs'),
    reloadMs: median(walls),
    loadavg: [load1, loadavg()[0]!],
  };
}

interface Held {
  readonly blockMs: number;
  readonly gcMaxMs: number;
}

/**
 * Runs `work` while a 1 ms interval watches the loop: its longest delay, and the longest GC pause
 * meanwhile. The watch starts from a collected heap (`gc()`, the bench runs with --expose-gc), as a
 * serving process's is between two updates: the garbage the bench made before (its synchronous
 * parses, the previous round's manager, 150 MB a round) is not the update's to collect. What the
 * update leaves alive is: a young-generation collection inside the watch, once the work is done,
 * copies it, as the process's next one would.
 */
async function held(work: () => Promise<void>): Promise<Held> {
  const gc = (globalThis as { gc?: (options?: { type: 'minor' | 'major' }) => void }).gc;
  gc?.();
  // And settled: right after a full collection its sweeping is still going on, and an allocation
  // can wait for it (a serving process's last full collection is long done when an update comes).
  if (gc) await new Promise((resolve) => setTimeout(resolve, 300));
  let blockMs = 0;
  let gcMaxMs = 0;
  const pauses = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMaxMs = Math.max(gcMaxMs, entry.duration);
  });
  pauses.observe({ entryTypes: ['gc'] });
  let last = performance.now();
  const probe = setInterval(() => {
    const now = performance.now();
    blockMs = Math.max(blockMs, now - last - 1);
    last = now;
  }, 1);
  try {
    await new Promise((resolve) => setTimeout(resolve, 20));
    await work();
    await new Promise((resolve) => setTimeout(resolve, 1));
    gc?.({ type: 'minor' });
    await new Promise((resolve) => setTimeout(resolve, 20));
  } finally {
    clearInterval(probe);
    pauses.disconnect();
  }
  return { blockMs, gcMaxMs };
}

/** A rule source the bench publishes to, as a Nacos or file source would. */
function memorySource(initial: string): RuleSource & { publish(text: string): void } {
  let text = initial;
  const listeners = new Set<RuleSourceListener>();
  return {
    kind: 'memory',
    location: 'bench',
    load: async () => text,
    watch(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    publish(next) {
      text = next;
      for (const listener of listeners) listener(next);
    },
  };
}

function publish(manager: RulesManager, source: ReturnType<typeof memorySource>, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no revision within 120 s: ${JSON.stringify(manager.status())}`)), 120_000);
    const stop = manager.onChange(() => {
      clearTimeout(timer);
      stop();
      resolve();
    });
    source.publish(text);
  });
}

/** The applied rules decide, and they are the version published. */
function check(manager: RulesManager, lanes: number, version: number): void {
  const last = lanes - 1;
  const matcher = manager.matcher();
  const decide = (user: string) => matcher?.match(requestView({ headers: { 'x-user-id': user } }));
  if (decide(`user-${last}`) !== `lane-${last}`) throw new Error('the reloaded matcher is wrong');
  if (decide(`user-0-v${version}`) !== 'lane-0') throw new Error(`the rules in force are not version ${version}`);
  const status = manager.status();
  if (status.state !== 'ok') throw new Error(`rules manager: ${JSON.stringify(status)}`);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
