/**
 * Rule loading at 10,000 lanes.
 *
 * - `rules.parse_10k_ms`: a synchronous `parseRules` of a 10,000-lane text (median of the rounds).
 * - `rules.reload_block_ms`: the longest the event loop is held while a serving process's rules
 *   manager (`createRulesManager`, as `startGraylane` makes it, and its router given each revision's
 *   fallback policy, as `startGraylane` wires them) applies a new 10,000-lane content
 *   in which 1 % of the lanes' match rules changed, the way rules change in practice. The manager
 *   parses a content that large on its rules worker and compiles it in slices, reusing what the
 *   rules in force compiled (docs/reference/rules.md, "Large rule sets and reloads"). Measured as
 *   the longest delay of a 1 ms interval (what a request waiting on the loop sees), the maximum
 *   over the rounds; `rules.reload_gc_max_ms` is the longest single garbage collection pause within,
 *   and `rules.gc_total_ms` lists each watch's pauses added up.
 *   Each watch starts from a collected heap and ends with a young-generation collection (see `held`).
 *   On Linux each watch also reports how its longest delay was spent by the process's main thread
 *   (`/proc/thread-self/schedstat`): running, runnable but waiting for a CPU (the machine's
 *   scheduler), or neither (blocked in the kernel, a page fault waiting on a lock, say). The
 *   kernel brings a running thread's counts up to date at scheduler events and ticks, so each
 *   figure is good to about a tick (the counts moved in steps of 4 ms on the benchmark machine):
 *   the time ran can exceed the delay.
 * - `rules.reload_chain_block_ms`: the same for a content in which 1 % of the lanes got a new
 *   fallback chain (the router's policy changes too).
 * - `rules.replace_block_ms`: the same for a content in which every lane changed.
 * - `rules.load_block_ms`: the same for the first content of a new manager: every regex compiled.
 * - `rules.idle_block_ms`: the control: the same watch over a manager holding the 10,000 lanes and
 *   doing nothing, for as long as a replacement took (`rules.replace_10k_ms`). What it shows is the
 *   machine's own floor (other processes, the kernel), which every figure above includes.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { requestView } from '@graylane/matcher';
import { createRulesManager, followRulesPolicy } from '@graylane/node';
import { createRouter } from '@graylane/router';
import type { RuleSource, RuleSourceListener, RulesManager } from '@graylane/node';
import type { LaneRouter } from '@graylane/router';
import { parseRules } from '@graylane/rules';

/** What {@link laneText} makes: lane `i` takes user `user-<i>[-v<version>]`; see there. */
export interface LaneTextOptions {
  /** The content's version: the changed lanes' values end with it. */
  readonly version?: number;
  /** Every `changedEvery`th lane changed (its values end with the version): 100 is 1 %, 1 every lane. */
  readonly changedEvery?: number;
  /** The changed lanes get a fallback chain (to a lane this number of places on) and keep the values of `version`. */
  readonly chain?: number;
}

/**
 * A native rule text of `n` lanes, each with an exact header rule and an AND of a list and a regex;
 * `changedEvery`th lanes have values of `version` (see {@link LaneTextOptions}).
 */
export function laneText(n: number, options: LaneTextOptions = {}): string {
  const { version = 0, changedEvery = 100, chain } = options;
  const out = ['lanes:'];
  for (let i = 0; i < n; i++) {
    const changed = i % changedEvery === 0;
    const v = changed && version > 0 ? `-v${version}` : '';
    out.push(
      `  - tag: lane-${i}`,
      '    match:',
      `      - { type: header, name: x-user-id, operator: '==', value: 'user-${i}${v}' }`,
      `      - all: [{ type: query, name: g, operator: in, values: [a${i}, b${i}] }, { type: header, name: x-env, operator: regex, value: '^env-${i}${v}-[a-z]+$' }]`,
    );
    if (changed && chain !== undefined) out.push(`    fallback: [lane-${(i + chain) % n}]`);
  }
  return `${out.join('\n')}\n`;
}

/** A figure for each watch of each kind, in the order they ran. */
export interface ByKind {
  readonly load: number[];
  readonly reload: number[];
  readonly chain: number[];
  readonly replace: number[];
  readonly idle: number[];
}

export interface RulesReloadResult {
  readonly parseMs: number;
  /** Longest delay of the 1 ms interval, over the reloads of each kind / the first loads. */
  readonly reloadBlockMs: number;
  readonly chainBlockMs: number;
  readonly replaceBlockMs: number;
  readonly loadBlockMs: number;
  /** The same watch over a manager doing nothing (the control). */
  readonly idleBlockMs: number;
  /** Longest single garbage collection pause during those. */
  readonly reloadGcMaxMs: number;
  readonly chainGcMaxMs: number;
  readonly replaceGcMaxMs: number;
  readonly loadGcMaxMs: number;
  /** Each watch's longest delay, in the order they ran, by kind. */
  readonly blocks: ByKind;
  /** For each of those delays, how long the main thread ran within it (Linux; else empty lists). */
  readonly running: ByKind;
  /** For each of those delays, how long the main thread waited for a CPU within it (Linux; else empty lists). */
  readonly waits: ByKind;
  /** Each watch's garbage collection pauses added up, in the order they ran, by kind. */
  readonly gcTotals: ByKind;
  /** Wall time from publishing a content to its revision applied (median, 1 % reloads): the watch's settling is not in it. */
  readonly reloadMs: number;
  /** The same for the contents in which every lane changed. */
  readonly replaceMs: number;
  readonly loadavg: readonly [number, number];
}

/**
 * Per round: a new manager loads 10,000 lanes, then applies two contents in which 1 % of the lanes'
 * match rules changed, one in which 1 % of the lanes got a new fallback chain, and one in which
 * every lane changed (a replacement: every regex compiled, as in a first load); then it is
 * watched doing nothing for as long as the replacement took (the control).
 */
export async function benchRulesReload(options: { rounds: number; lanes?: number }): Promise<RulesReloadResult> {
  const lanes = options.lanes ?? 10_000;
  const parses: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    const text = laneText(lanes, { version: round });
    const t0 = performance.now();
    const parsed = parseRules(text);
    parses.push(performance.now() - t0);
    if (parsed.rules.lanes.length !== lanes) throw new Error(`parsed ${parsed.rules.lanes.length} lanes, expected ${lanes}`);
  }

  const load1 = loadavg()[0]!;
  const loads: Held[] = [];
  const reloads: Held[] = [];
  const chains: Held[] = [];
  const replacements: Held[] = [];
  const idles: Held[] = [];
  for (let round = 0; round < options.rounds; round++) {
    const source = memorySource(laneText(lanes));
    const manager = createRulesManager(source, { loadTimeoutMs: 120_000 });
    const router = createRouter(undefined, {});
    // Base and the lanes the chains send lane-0 to: the router's chains are checked, not only set.
    const at = (port: number, lane?: string) => ({ id: `127.0.0.1:${port}`, service: 'bench', host: '127.0.0.1', port, lane, weight: 1, healthy: true, enabled: true, metadata: {} });
    router.update('bench', [at(1), ...Array.from({ length: options.rounds }, (_, r) => at(2 + r, `lane-${1 + r}`))]);
    followRulesPolicy(router, manager);
    try {
      loads.push(await held(() => manager.ready()));
      check(manager, router, lanes, {});
      const steps: [Held[], LaneTextOptions][] = [
        [reloads, { version: 1 }],
        [reloads, { version: 2 }],
        [chains, { version: 2, chain: 1 + round }],
        [replacements, { version: 3, changedEvery: 1 }],
      ];
      for (const [into, content] of steps) {
        const text = laneText(lanes, content); // made before the watch starts: the bench's work, not the manager's
        into.push(await held(() => publish(manager, source, text)));
        check(manager, router, lanes, content);
      }
      const idleMs = replacements.at(-1)!.wallMs;
      idles.push(await held(() => new Promise((resolve) => setTimeout(resolve, idleMs))));
    } finally {
      await manager.close();
      router.close();
    }
  }
  const max = (values: readonly Held[], key: 'blockMs' | 'gcMaxMs') => Math.max(...values.map((v) => v[key]));
  const blocks = (values: readonly Held[]) => values.map((v) => Math.round(v.blockMs * 10) / 10);
  const totals = (values: readonly Held[]) => values.map((v) => Math.round(v.gcTotalMs * 10) / 10);
  const split = (values: readonly Held[], key: 'runMs' | 'waitMs') =>
    values.flatMap((v) => (v.thread === undefined ? [] : [Math.round(v.thread[key] * 10) / 10]));
  return {
    parseMs: median(parses),
    reloadBlockMs: max(reloads, 'blockMs'),
    chainBlockMs: max(chains, 'blockMs'),
    replaceBlockMs: max(replacements, 'blockMs'),
    loadBlockMs: max(loads, 'blockMs'),
    idleBlockMs: max(idles, 'blockMs'),
    reloadGcMaxMs: max(reloads, 'gcMaxMs'),
    chainGcMaxMs: max(chains, 'gcMaxMs'),
    replaceGcMaxMs: max(replacements, 'gcMaxMs'),
    loadGcMaxMs: max(loads, 'gcMaxMs'),
    reloadMs: median(reloads.map((v) => v.wallMs)),
    replaceMs: median(replacements.map((v) => v.wallMs)),
    blocks: { load: blocks(loads), reload: blocks(reloads), chain: blocks(chains), replace: blocks(replacements), idle: blocks(idles) },
    running: { load: split(loads, 'runMs'), reload: split(reloads, 'runMs'), chain: split(chains, 'runMs'), replace: split(replacements, 'runMs'), idle: split(idles, 'runMs') },
    waits: { load: split(loads, 'waitMs'), reload: split(reloads, 'waitMs'), chain: split(chains, 'waitMs'), replace: split(replacements, 'waitMs'), idle: split(idles, 'waitMs') },
    gcTotals: { load: totals(loads), reload: totals(reloads), chain: totals(chains), replace: totals(replacements), idle: totals(idles) },
    loadavg: [load1, loadavg()[0]!],
  };
}

interface Held {
  readonly blockMs: number;
  readonly gcMaxMs: number;
  /** The watch's garbage collection pauses added up (the work its update gave the collector, on the main thread). */
  readonly gcTotalMs: number;
  /** How long `work` took, from its start to the revision applied. */
  readonly wallMs: number;
  /** Within the longest delay, how long the main thread ran and how long it waited for a CPU (Linux). */
  readonly thread: ThreadTimes | undefined;
}

interface ThreadTimes {
  readonly runMs: number;
  readonly waitMs: number;
}

/**
 * The calling thread's time running and time runnable but waiting for a CPU, in ms since it
 * started: the first two fields of `/proc/thread-self/schedstat` (Linux; else `undefined`). Read on
 * every probe tick: about 4 µs.
 */
function threadTimes(): ThreadTimes | undefined {
  try {
    const [run, wait] = readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ').map(Number);
    return Number.isFinite(run) && Number.isFinite(wait) ? { runMs: run! / 1e6, waitMs: wait! / 1e6 } : undefined;
  } catch {
    return undefined;
  }
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
  let gcTotalMs = 0;
  let wallMs = 0;
  let thread: ThreadTimes | undefined;
  const pauses = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcMaxMs = Math.max(gcMaxMs, entry.duration);
      gcTotalMs += entry.duration;
    }
  });
  pauses.observe({ entryTypes: ['gc'] });
  let last = performance.now();
  let lastTimes = threadTimes();
  const probe = setInterval(() => {
    const now = performance.now();
    const times = threadTimes();
    if (now - last - 1 > blockMs) {
      blockMs = now - last - 1;
      thread = times && lastTimes && { runMs: times.runMs - lastTimes.runMs, waitMs: times.waitMs - lastTimes.waitMs };
    }
    last = now;
    lastTimes = times;
  }, 1);
  try {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const start = performance.now();
    await work();
    wallMs = performance.now() - start;
    await new Promise((resolve) => setTimeout(resolve, 1));
    gc?.({ type: 'minor' });
    await new Promise((resolve) => setTimeout(resolve, 20));
  } finally {
    clearInterval(probe);
    pauses.disconnect();
  }
  return { blockMs, gcMaxMs, gcTotalMs, wallMs, thread };
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

/** The applied rules decide as the content published says, and the router follows its chains. */
function check(manager: RulesManager, router: LaneRouter, lanes: number, content: LaneTextOptions): void {
  const { version = 0, changedEvery = 100, chain } = content;
  const user = (i: number) => (i % changedEvery === 0 && version > 0 ? `user-${i}-v${version}` : `user-${i}`);
  const matcher = manager.matcher();
  const decide = (i: number) => matcher?.match(requestView({ headers: { 'x-user-id': user(i) } }));
  if (decide(lanes - 1) !== `lane-${lanes - 1}` || decide(0) !== 'lane-0') throw new Error(`the rules in force are not ${JSON.stringify(content)}`);
  const status = manager.status();
  if (status.state !== 'ok') throw new Error(`rules manager: ${JSON.stringify(status)}`);
  const served = router.select('bench', 'lane-0').servedLane;
  const expected = chain === undefined ? undefined : `lane-${chain % lanes}`;
  if (served !== expected) throw new Error(`lane-0 is served by ${served ?? 'base'}, expected ${expected ?? 'base'}`);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
