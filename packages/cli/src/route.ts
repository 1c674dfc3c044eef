import { isGraylaneError, laneLabel } from '@graylane/core';
import type { Instance } from '@graylane/core';
import { buildLaneIndex, createRouter } from '@graylane/router';
import type { FallbackStep } from '@graylane/router';
import { fallbackPolicy, laneStoreState, parseRules } from '@graylane/rules';
import type { FallbackPolicy } from '@graylane/rules';
import { UsageError } from './command.js';
import type { Context } from './command.js';
import { listInstances, openLaneStore, openRegistry } from './lane-store.js';

/** Where one hop's call would go now, and why. */
export interface HopRoute {
  readonly service: string;
  /** The lane the request carries to this hop; `base` for none. */
  readonly lane: string;
  /** Set when the lane store has the lane disabled or expired: the hop routes the request as base. */
  readonly inactive: boolean;
  /** The instance a fresh router picks first; `null` when the selection failed. */
  readonly instance: { readonly id: string; readonly host: string; readonly port: number; readonly lane: string } | null;
  /** The lane of the instances the call goes to; `null` when the selection failed. */
  readonly servedLane: string | null;
  /** The lanes tried and passed over before the served one, with why (`no-instance`, `all-unhealthy`, `all-disabled`). */
  readonly fallback: readonly FallbackStep[];
  /** The usable instances of the served lane: the balancer spreads calls over them. */
  readonly pool: readonly string[];
  /** Why no instance can serve (`GRAYLANE_ERR_STRICT_LANE`, `GRAYLANE_ERR_NO_INSTANCE`). */
  readonly error: { readonly code: string; readonly message: string } | null;
  /** Every instance of the service in the registry, by lane label: `{ base: 2, gray: 1 }`. */
  readonly instances: Readonly<Record<string, number>>;
}

/** What the fleet's routing rests on besides the registry. */
export interface FleetPolicy {
  /** Where the fallback chains and strict lanes were read from; `undefined` for none (straight to base). */
  readonly rulesFrom: string | undefined;
  readonly policy: FallbackPolicy;
  /** Where the lane objects were read from; `undefined` when no lane store is named. */
  readonly lanesFrom: string | undefined;
  /** Lanes the lane store has disabled or expired. */
  readonly inactive: ReadonlySet<string>;
}

export const ROUTE_OPTIONS = {
  rules: { type: 'string' },
} as const;

export const ROUTE_HELP = `The fleet, read as its services read it:
  registry     Nacos when NACOS_SERVER_ADDR is set, else the file registry (GRAYLANE_REGISTRY_DIR,
               default the user's shared folder)
  rules        --rules <file>, else GRAYLANE_RULES_FILE, else GRAYLANE_RULES_DATA_ID on Nacos
               (group GRAYLANE_RULES_GROUP): the lanes' fallback chains and strict lanes
  lane store   GRAYLANE_LANES_FILE, else GRAYLANE_LANES_DATA_ID on Nacos: a disabled or expired
               lane routes like base at every hop`;

/**
 * The fallback chains and strict lanes (from `--rules`, or the rule source the environment names,
 * as services read it) and the inactive lanes of the lane store the environment names.
 */
export async function fleetPolicy(context: Context, rulesFile: string | undefined, ruleText?: { text: string; from: string }): Promise<FleetPolicy> {
  let rules = ruleText;
  if (!rules && rulesFile !== undefined) {
    const { readRuleFile } = await import('./rules-file.js');
    rules = { text: (await readRuleFile(rulesFile, context)).text, from: `file ${rulesFile}` };
  }
  rules ??= await rulesFromEnv(context);
  const policy = rules ? fallbackPolicy(parseRules(rules.text, { source: rules.from }).rules) : { fallback: {}, strict: [] };
  const named = Boolean(context.env['GRAYLANE_LANES_FILE']?.trim() || context.env['GRAYLANE_LANES_DATA_ID']?.trim());
  if (!named) return { rulesFrom: rules?.from, policy, lanesFrom: undefined, inactive: new Set() };
  const access = await openLaneStore(context);
  try {
    const store = await access.read();
    return { rulesFrom: rules?.from, policy, lanesFrom: access.where, inactive: laneStoreState(store).inactive };
  } finally {
    await access.close();
  }
}

async function rulesFromEnv(context: Context): Promise<{ text: string; from: string } | undefined> {
  const file = context.env['GRAYLANE_RULES_FILE']?.trim();
  const dataId = context.env['GRAYLANE_RULES_DATA_ID']?.trim();
  if (file) {
    const { readFile } = await import('node:fs/promises');
    const { resolve } = await import('node:path');
    return { text: await readFile(resolve(context.cwd, file), 'utf8'), from: `file ${file}` };
  }
  if (!dataId) return undefined;
  const { nacosOptions } = await import('./environment.js');
  const nacos = await nacosOptions(context);
  if (!nacos) throw new UsageError('GRAYLANE_RULES_DATA_ID names a Nacos config, but NACOS_SERVER_ADDR is not set');
  const { DEFAULT_GROUP, createNacosConfig } = await import('@graylane/nacos');
  const group = context.env['GRAYLANE_RULES_GROUP']?.trim() || DEFAULT_GROUP;
  const config = createNacosConfig(nacos);
  try {
    const text = await config.get(dataId, group);
    return text === undefined ? undefined : { text, from: `nacos ${group}/${dataId}` };
  } finally {
    await config.close();
  }
}

/**
 * Where a request in `lane` (`undefined`: base) would go at each of `services` now: the current
 * instance lists from the registry the environment names, selected by graylane's router with
 * `fleet`'s policy, as every hop selects (a lane the lane store has switched off routes as base).
 */
export async function routeHops(context: Context, services: readonly string[], lane: string | undefined, fleet: FleetPolicy): Promise<{ registry: string; hops: HopRoute[] }> {
  const opened = await openRegistry(context);
  let instances: Instance[];
  try {
    instances = await listInstances(opened.registry, services);
  } finally {
    await opened.registry.close();
  }
  const registry = opened.target.kind === 'nacos' ? `nacos ${opened.target.options.serverAddr}` : `file ${opened.target.dir}`;
  const router = createRouter(undefined, { fallback: fleet.policy.fallback, strict: fleet.policy.strict });
  try {
    const hops = services.map((service): HopRoute => {
      const mine = instances.filter((instance) => instance.service === service);
      router.update(service, mine);
      const inactive = lane !== undefined && fleet.inactive.has(lane);
      // base first, then the lanes by name: the same order whatever order the registry lists them in.
      const labels = mine.map((instance) => laneLabel(instance.lane)).sort((x, y) => (x === y ? 0 : x === 'base' ? -1 : y === 'base' ? 1 : x < y ? -1 : 1));
      const counts: Record<string, number> = {};
      for (const label of labels) counts[label] = (counts[label] ?? 0) + 1;
      const base = { service, lane: laneLabel(lane), inactive, instances: counts };
      try {
        const selection = router.select(service, inactive ? undefined : lane);
        const pool = buildLaneIndex(mine).pool(selection.servedLane)?.usable ?? [];
        const { id, host, port } = selection.instance;
        return {
          ...base,
          instance: { id, host, port, lane: laneLabel(selection.instance.lane) },
          servedLane: laneLabel(selection.servedLane),
          fallback: selection.fallback,
          pool: pool.map((instance) => instance.id),
          error: null,
        };
      } catch (error) {
        if (!isGraylaneError(error)) throw error;
        return { ...base, instance: null, servedLane: null, fallback: [], pool: [], error: { code: error.code, message: error.message } };
      }
    });
    return { registry, hops };
  } finally {
    router.close();
  }
}

/** The lines that describe `hop` for a person. */
export function describeHop(hop: HopRoute): string[] {
  const counts = Object.entries(hop.instances).map(([lane, n]) => `${lane} ${n}`).join(', ') || 'no instance';
  const asked = hop.inactive ? `${hop.lane} (inactive in the lane store: routed as base)` : hop.lane;
  if (hop.error) return [`${hop.service}: lane ${asked} -> FAILS: ${hop.error.code}: ${hop.error.message} (registered: ${counts})`];
  const lines = [`${hop.service}: lane ${asked} -> ${hop.instance!.id} [${hop.servedLane}]${hop.fallback.length === 0 ? '' : ', fallback'} (registered: ${counts})`];
  for (const step of hop.fallback) lines.push(`  passed over ${step.lane}: ${REASONS[step.reason] ?? step.reason}`);
  if (hop.pool.length > 1) lines.push(`  calls spread over ${hop.pool.length} ${hop.servedLane} instances: ${hop.pool.join(', ')}`);
  return lines;
}

const REASONS: Record<string, string> = {
  'no-instance': 'no instance in that lane',
  'all-unhealthy': 'every instance in that lane is unhealthy',
  'all-disabled': 'the healthy instances in that lane are disabled',
  'connect-failed': 'none of its instances could be reached',
};
