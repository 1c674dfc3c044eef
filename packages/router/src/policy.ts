import { BASE_LANE, ErrorCode, GraylaneError, parseLane } from '@graylane/core';
import type { LaneHealth, OutlierPolicyInput, RoutingPolicyInput, StrictLanes } from './types.js';

const NO_CHAIN: readonly string[] = Object.freeze([]);

/** A lane's health bounds, validated: a lane with fewer usable instances is passed over. */
export interface HealthBounds {
  /** Usable instances the lane needs at least. */
  readonly minHealthy: number;
  /** Percentage (0-100) of the lane's listed instances that must be usable. */
  readonly minHealthyPercent: number;
}

/** Outlier ejection settings, validated, defaults applied. */
export interface OutlierSettings {
  readonly consecutiveFailures: number;
  readonly windowMs: number;
  readonly ejectMs: number;
  readonly maxEjectMs: number;
  readonly maxEjectedPercent: number;
}

/** The defaults of {@link OutlierPolicyInput}. */
export const OUTLIER_DEFAULTS: OutlierSettings = Object.freeze({
  consecutiveFailures: 5,
  windowMs: 10_000,
  ejectMs: 30_000,
  maxEjectMs: 300_000,
  maxEjectedPercent: 50,
});

/**
 * A validated, immutable routing policy: the fallback chain of every lane and which lanes are strict.
 * Build one with {@link compilePolicy}; selection caches are keyed by its identity.
 */
export interface RoutingPolicy {
  /** The intermediate lanes tried after `lane` and before base (never `lane` itself, never base). */
  chain(lane: string): readonly string[];
  /** True when `lane` must never fall back. */
  isStrict(lane: string): boolean;
  /** The health bounds of `lane` (never base), or `undefined` when it has none. */
  health(lane: string): HealthBounds | undefined;
  /** Outlier ejection settings, or `undefined` when ejection is off. */
  readonly outlier: OutlierSettings | undefined;
}

/** What a policy was made of that a compile given it as `previous` may take again. */
interface Made {
  /** The fallback input, when frozen and every key a lane's own spelling: its chains are read from it when asked. */
  readonly fallback: Readonly<Record<string, unknown>> | undefined;
  /** The strict input and its test, when the input is a frozen array. */
  readonly strict: { readonly lanes: readonly string[]; readonly test: (lane: string) => boolean } | undefined;
}

const made = new WeakMap<RoutingPolicy, Made>();

/**
 * Validates and freezes routing policy input.
 *
 * A frozen `fallback` whose arrays are frozen (as `fallbackPolicy` of `@graylane/rules` makes
 * them) is validated, then read when a chain is asked for, not copied: it cannot change. With
 * `previous` (the policy this one replaces), an array that `previous` was made with, under the
 * same key, is not validated again, nor is a frozen strict list it was made with. A rules reload
 * gives the arrays of unchanged lanes again, so that at 10,000 lanes a reload validates what
 * changed, where copying and validating every chain took 3 to 9 ms of the event loop. Input that
 * is not frozen is copied, as it may change after.
 *
 * @throws GraylaneError `GRAYLANE_ERR_CONFIG_INVALID` listing every invalid lane name and field.
 */
export function compilePolicy(input: RoutingPolicyInput = {}, previous?: RoutingPolicy): RoutingPolicy {
  const issues: string[] = [];
  const fallback: Readonly<Record<string, unknown>> = input.fallback ?? {};
  const earlier = previous && made.get(previous);
  const before = earlier?.fallback;
  const { chains, inPlace } = (before !== undefined && revisedInPlace(fallback, before, issues)) || compileFallback(fallback, issues);

  const strict = input.strict;
  const isStrict = earlier?.strict !== undefined && earlier.strict.lanes === strict ? earlier.strict.test : compileStrict(strict, issues);
  const health = compileHealth(input.health, issues);
  const outlier = compileOutlier(input.outlier, issues);
  if (issues.length > 0) {
    throw new GraylaneError(ErrorCode.CONFIG_INVALID, `invalid routing policy: ${issues.join('; ')}`, {
      details: { issues },
    });
  }
  const chain = inPlace
    ? (lane: string): readonly string[] => {
        let known = chains.get(lane);
        if (known === undefined) {
          // Only the input's lanes are remembered: a request's lane can be any name.
          if (!Object.hasOwn(fallback, lane)) return NO_CHAIN;
          known = compileChain(lane, lane, fallback[lane] as readonly unknown[], []);
          chains.set(lane, known);
        }
        return known;
      }
    : (lane: string): readonly string[] => chains.get(lane) ?? NO_CHAIN;
  const policy: RoutingPolicy = { chain, isStrict, health, outlier };
  made.set(policy, {
    fallback: inPlace ? fallback : undefined,
    strict: Array.isArray(strict) && Object.isFrozen(strict) ? { lanes: strict as readonly string[], test: isStrict } : undefined,
  });
  return policy;
}

interface Chains {
  /** The chains made, by lane: all of them, or (`inPlace`) those made so far. */
  readonly chains: Map<string, readonly string[]>;
  /** True when the input is read when a chain is asked for: frozen, arrays included, each key its lane's own spelling. */
  readonly inPlace: boolean;
}

/** Every chain of `fallback`, validated; read in place if it can be (see {@link Chains.inPlace}). */
function compileFallback(fallback: Readonly<Record<string, unknown>>, issues: string[]): Chains {
  const chains = new Map<string, readonly string[]>();
  let inPlace = Object.isFrozen(fallback);
  for (const key of Object.keys(fallback)) {
    const steps = fallback[key];
    const lane = parseLane(key);
    if (lane === null || lane === undefined) {
      issues.push(`fallback["${key}"]: not a lane name (the base lane has no fallback)`);
      continue;
    }
    if (!Array.isArray(steps)) {
      issues.push(`fallback["${key}"]: expected an array of lane names`);
      continue;
    }
    chains.set(lane, compileChain(key, lane, steps as readonly unknown[], issues));
    inPlace &&= lane === key && Object.isFrozen(steps);
  }
  return { chains, inPlace };
}

/**
 * A frozen `fallback` revising `before` (an input read in place), validating only the arrays that
 * are not `before`'s under the same key; `undefined` when it cannot be read in place after all.
 */
function revisedInPlace(fallback: Readonly<Record<string, unknown>>, before: Readonly<Record<string, unknown>>, issues: string[]): Chains | undefined {
  if (!Object.isFrozen(fallback)) return undefined;
  const found: string[] = [];
  const chains = new Map<string, readonly string[]>();
  for (const key of Object.keys(fallback)) {
    const steps = fallback[key];
    if (before[key] === steps && Object.hasOwn(before, key)) continue; // validated then, and frozen
    if (!Array.isArray(steps) || !Object.isFrozen(steps) || parseLane(key) !== key) return undefined;
    chains.set(key, compileChain(key, key, steps as readonly unknown[], found));
  }
  issues.push(...found);
  return { chains, inPlace: true };
}

/** The intermediate lanes of `lane`'s input steps: each once, never `lane`, base only last. */
function compileChain(key: string, lane: string, steps: readonly unknown[], issues: string[]): readonly string[] {
  const chain: string[] = [];
  for (let i = 0; i < steps.length; i++) {
    const raw = steps[i];
    const step = typeof raw === 'string' ? parseLane(raw) : null;
    if (step === null) issues.push(`fallback["${key}"][${i}]: "${String(raw)}" is not a lane name`);
    else if (step === undefined) {
      if (i !== steps.length - 1) issues.push(`fallback["${key}"][${i}]: base is always tried last; remove it or move it to the end`);
    } else if (step !== lane && !chain.includes(step)) chain.push(step);
  }
  return Object.freeze(chain);
}

const HEALTH_FIELDS: readonly string[] = ['minHealthy', 'minHealthyPercent'];
const OUTLIER_FIELDS: readonly string[] = Object.keys(OUTLIER_DEFAULTS);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Lists fields of `value` not in `known` as issues under `path`. */
function unknownFields(value: Record<string, unknown>, known: readonly string[], path: string, issues: string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) issues.push(`${path}.${key}: unknown field (expected ${known.join(', ')})`);
  }
}

function compileHealth(input: RoutingPolicyInput['health'], issues: string[]): (lane: string) => HealthBounds | undefined {
  const none = (): undefined => undefined;
  if (input === undefined) return none;
  if (!isRecord(input)) {
    issues.push('health: expected an object with `default` and/or `lanes`');
    return none;
  }
  unknownFields(input, ['default', 'lanes'], 'health', issues);
  const fallback = input.default === undefined ? undefined : laneHealth(input.default, 'health.default', issues);
  const lanes = new Map<string, HealthBounds | undefined>();
  if (input.lanes !== undefined) {
    if (!isRecord(input.lanes)) issues.push('health.lanes: expected an object of lane → { minHealthy, minHealthyPercent }');
    else {
      for (const [key, value] of Object.entries(input.lanes)) {
        const path = `health.lanes["${key}"]`;
        const lane = parseLane(key);
        if (lane === null) issues.push(`${path}: "${key}" is not a lane name`);
        else if (lane === undefined) issues.push(`${path}: the base lane has no health policy (it always serves what it has)`);
        else lanes.set(lane, laneHealth(value, path, issues));
      }
    }
  }
  if (fallback === undefined && [...lanes.values()].every((h) => h === undefined)) return none;
  return (lane) => (lanes.has(lane) ? lanes.get(lane) : fallback);
}

/** Validated bounds, or `undefined` when they bound nothing (both 0). */
function laneHealth(value: LaneHealth | unknown, path: string, issues: string[]): HealthBounds | undefined {
  if (!isRecord(value)) {
    issues.push(`${path}: expected an object with minHealthy and/or minHealthyPercent`);
    return undefined;
  }
  unknownFields(value, HEALTH_FIELDS, path, issues);
  const minHealthy = value['minHealthy'] ?? 0;
  const minHealthyPercent = value['minHealthyPercent'] ?? 0;
  let valid = true;
  if (!(typeof minHealthy === 'number' && Number.isInteger(minHealthy) && minHealthy >= 0)) {
    issues.push(`${path}.minHealthy: must be a whole number, 0 or more, got ${String(minHealthy)}`);
    valid = false;
  }
  if (!(typeof minHealthyPercent === 'number' && minHealthyPercent >= 0 && minHealthyPercent <= 100)) {
    issues.push(`${path}.minHealthyPercent: must be a number from 0 to 100, got ${String(minHealthyPercent)}`);
    valid = false;
  }
  if (!valid || (minHealthy === 0 && minHealthyPercent === 0)) return undefined;
  return Object.freeze({ minHealthy: minHealthy as number, minHealthyPercent: minHealthyPercent as number });
}

function compileOutlier(input: OutlierPolicyInput | false | undefined, issues: string[]): OutlierSettings | undefined {
  if (input === undefined || input === false) return undefined;
  if (!isRecord(input)) {
    issues.push('outlier: expected an object (`{}` for the defaults) or false');
    return undefined;
  }
  unknownFields(input, OUTLIER_FIELDS, 'outlier', issues);
  const read = (field: keyof OutlierSettings, ok: (n: number) => boolean, expected: string): number => {
    const value = input[field] ?? OUTLIER_DEFAULTS[field];
    if (typeof value === 'number' && ok(value)) return value;
    issues.push(`outlier.${field}: must be ${expected}, got ${String(value)}`);
    return OUTLIER_DEFAULTS[field];
  };
  const positiveMs = (n: number) => Number.isFinite(n) && n > 0;
  const settings: OutlierSettings = {
    consecutiveFailures: read('consecutiveFailures', (n) => Number.isInteger(n) && n >= 1, 'a whole number, 1 or more'),
    windowMs: read('windowMs', positiveMs, 'a positive number of milliseconds'),
    ejectMs: read('ejectMs', positiveMs, 'a positive number of milliseconds'),
    maxEjectMs: read('maxEjectMs', positiveMs, 'a positive number of milliseconds'),
    maxEjectedPercent: read('maxEjectedPercent', (n) => n >= 0 && n <= 100, 'a number from 0 to 100'),
  };
  return Object.freeze({ ...settings, maxEjectMs: Math.max(settings.maxEjectMs, settings.ejectMs) });
}

function compileStrict(strict: StrictLanes | undefined, issues: string[]): (lane: string) => boolean {
  if (strict === undefined) return () => false;
  if (typeof strict === 'function') return (lane) => lane !== BASE_LANE && strict(lane) === true;
  if (!Array.isArray(strict)) {
    issues.push('strict: expected an array of lane names or a predicate');
    return () => false;
  }
  const lanes = new Set<string>();
  strict.forEach((raw: unknown, i) => {
    const lane = typeof raw === 'string' ? parseLane(raw) : null;
    if (lane === null) issues.push(`strict[${i}]: "${String(raw)}" is not a lane name`);
    else if (lane === undefined) issues.push(`strict[${i}]: the base lane cannot be strict`);
    else lanes.add(lane);
  });
  return (lane) => lanes.has(lane);
}
