import { diag } from '@opentelemetry/api';
import { ErrorCode, GraylaneError } from '@graylane/core';
import type { LaneRouter } from '@graylane/router';
import type { LaneRuleSet, LaneStore } from '@graylane/rules';
import { loadRuleModules, loadedRuleModules } from '../lazy.js';
import { RegistryEnv, nacosOptionsFromEnv } from '../registry-from-env.js';
import { fileRuleSource } from '../rules/file-source.js';
import { nacosRuleSource } from '../rules/nacos-source.js';
import type { RuleSource } from '../rules/source.js';

/** Environment variables that choose the lane store; see docs/reference/configuration.md. */
export const LanesEnv = {
  /** Path of the lane store file (JSON), for local use. */
  GRAYLANE_LANES_FILE: 'GRAYLANE_LANES_FILE',
  /** Data id of the Nacos config holding the lane store; the server is `NACOS_SERVER_ADDR`. */
  GRAYLANE_LANES_DATA_ID: 'GRAYLANE_LANES_DATA_ID',
  /** Group of that config. Default `DEFAULT_GROUP`. */
  GRAYLANE_LANES_GROUP: 'GRAYLANE_LANES_GROUP',
} as const;

/**
 * The lane store the environment names: the file `GRAYLANE_LANES_FILE`, or the Nacos config
 * `GRAYLANE_LANES_DATA_ID` (group `GRAYLANE_LANES_GROUP`) on `NACOS_SERVER_ADDR`; `undefined` when
 * neither is set.
 *
 * @throws GraylaneError `GRAYLANE_ERR_CONFIG_INVALID` when both are set, or a data id without a Nacos server.
 * @experimental
 */
export function lanesFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): RuleSource | undefined {
  const file = env[LanesEnv.GRAYLANE_LANES_FILE]?.trim();
  const dataId = env[LanesEnv.GRAYLANE_LANES_DATA_ID]?.trim();
  if (file && dataId) {
    throw new GraylaneError(ErrorCode.CONFIG_INVALID, `set ${LanesEnv.GRAYLANE_LANES_FILE} or ${LanesEnv.GRAYLANE_LANES_DATA_ID}, not both`, {
      details: { variables: [LanesEnv.GRAYLANE_LANES_FILE, LanesEnv.GRAYLANE_LANES_DATA_ID] },
    });
  }
  if (file) return fileRuleSource(file, { pollIntervalMs: 500, debounceMs: 20 });
  if (!dataId) return undefined;
  const nacos = nacosOptionsFromEnv(env);
  if (!nacos) {
    throw new GraylaneError(ErrorCode.CONFIG_INVALID, `${LanesEnv.GRAYLANE_LANES_DATA_ID} names a Nacos config, but ${RegistryEnv.NACOS_SERVER_ADDR} is not set`, {
      details: { variables: [LanesEnv.GRAYLANE_LANES_DATA_ID, RegistryEnv.NACOS_SERVER_ADDR] },
    });
  }
  return nacosRuleSource({ ...nacos, dataId, group: env[LanesEnv.GRAYLANE_LANES_GROUP]?.trim() || undefined });
}

/**
 * The lane objects of a lane store, kept current: which lanes are inactive (disabled or expired)
 * now. Changes are pushed by the store (file events, Nacos push); expiries fire from a timer.
 * Nothing here runs per request.
 * @experimental
 */
export interface LaneState {
  readonly source: RuleSource;
  /** Resolves once the store was read once (or could not be, within `loadTimeoutMs`: then no lane objects apply yet). */
  ready(): Promise<void>;
  /** The lane objects in force. */
  store(): LaneStore;
  /** Tags of the lanes that route like base now. */
  inactive(): ReadonlySet<string>;
  /** `rules` with the lane objects applied (see `applyLaneStore`). */
  apply(rules: LaneRuleSet): LaneRuleSet;
  /** Calls `listener` after every change of the lane objects or of which are active. */
  onChange(listener: () => void): () => void;
  close(): Promise<void>;
}

/** Options of {@link followLanes}. */
export interface FollowLanesOptions {
  /** How long {@link LaneState.ready} waits for the first read. Default 5000 ms. */
  readonly loadTimeoutMs?: number | undefined;
}

/**
 * Follows the lane store in `source`. An invalid change is logged and the last good lane objects
 * stay in force; a store that cannot be read leaves no lane objects in force until it can.
 * @experimental
 */
export function followLanes(source: RuleSource, options: FollowLanesOptions = {}): LaneState {
  const where = `${source.kind} ${source.location}`;
  // The rule model (YAML, zod) loads with the first lane store followed; contents wait for it, in order.
  const modules = loadRuleModules();
  /** No lane objects (what `emptyLaneStore()` of @graylane/rules returns), until the store is read. */
  let store: LaneStore = { kind: 'graylane.io/v1alpha1/Lanes', lanes: [] };
  let inactive: ReadonlySet<string> = new Set();
  let latest: string | undefined | null = null;
  let expiry: NodeJS.Timeout | undefined;
  let closed = false;
  const listeners = new Set<() => void>();
  let settle: (() => void) | undefined;
  const ready = new Promise<void>((resolve) => (settle = resolve));
  // Not unref'd: it keeps the process alive while the first read is pending (a source's own timers may be unref'd).
  const timeout = setTimeout(() => settle?.(), options.loadTimeoutMs ?? 5000);

  function recompute(): void {
    clearTimeout(expiry);
    const now = Date.now();
    const state = loadedRuleModules()!.rules.laneStoreState(store, now); // loaded: update() waits for them
    inactive = state.inactive;
    if (state.nextExpiryMs !== undefined && !closed) {
      // setTimeout takes at most 2^31-1 ms; a later expiry re-arms on the way.
      expiry = setTimeout(changed, Math.min(Math.max(state.nextExpiryMs - now, 0) + 1, 2 ** 31 - 1)).unref();
    }
  }

  function changed(): void {
    recompute();
    for (const listener of [...listeners]) {
      try {
        listener();
      } catch (error) {
        diag.error(`graylane: a listener of the lanes from ${where} threw`, error);
      }
    }
  }

  function update(text: string | undefined): void {
    const loaded = loadedRuleModules();
    if (!loaded) {
      void modules.then(() => update(text), () => undefined);
      return;
    }
    if (closed || text === latest) return;
    latest = text;
    try {
      store = loaded.rules.parseLaneStore(text, where);
    } catch (error) {
      diag.error(`graylane: rejected the lanes from ${where}; the previous lane objects stay in force: ${(error as Error).message}`);
      settle?.();
      return;
    }
    diag.info(`graylane: applied ${store.lanes.length} lane object(s) from ${where}`);
    changed();
    settle?.();
  }

  const unwatch = source.watch(update);
  source.load().then(update, (error: unknown) => {
    diag.warn(`graylane: reading the lanes from ${where} failed (${(error as Error).message}); no lane objects apply until it can be read`);
  });
  void ready.then(() => clearTimeout(timeout));

  return {
    source,
    ready: () => ready,
    store: () => store,
    inactive: () => inactive,
    // Called by the rules manager while it compiles rules, so with the rule model loaded; before
    // that no lane object was read, and there is nothing to apply.
    apply: (rules) => loadedRuleModules()?.rules.applyLaneStore(rules, store) ?? rules,
    onChange(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(expiry);
      clearTimeout(timeout);
      settle?.();
      unwatch();
      listeners.clear();
      await source.close?.();
    },
  };
}

/**
 * `router`, routing requests of inactive lanes as base: the lane is replaced by base before
 * selection (one set lookup per call; the set is swapped whole on a change).
 * @experimental
 */
export function laneStateRouter(router: LaneRouter, lanes: LaneState): LaneRouter {
  let inactive = lanes.inactive();
  lanes.onChange(() => (inactive = lanes.inactive()));
  const effective = (lane: string | undefined) => (lane !== undefined && inactive.has(lane) ? undefined : lane);
  return Object.assign(Object.create(router) as LaneRouter, {
    select: (service: string, lane: string | undefined, options?: Parameters<LaneRouter['select']>[2]) => router.select(service, effective(lane), options),
    selectAsync: (service: string, lane: string | undefined) => router.selectAsync(service, effective(lane)),
  });
}
