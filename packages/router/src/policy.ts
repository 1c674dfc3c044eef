import { BASE_LANE, ErrorCode, GraylaneError, parseLane } from '@graylane/core';
import type { RoutingPolicyInput, StrictLanes } from './types.js';

const NO_CHAIN: readonly string[] = Object.freeze([]);

/**
 * A validated, immutable routing policy: the fallback chain of every lane and which lanes are strict.
 * Build one with {@link compilePolicy}; selection caches are keyed by its identity.
 */
export interface RoutingPolicy {
  /** The intermediate lanes tried after `lane` and before base (never `lane` itself, never base). */
  chain(lane: string): readonly string[];
  /** True when `lane` must never fall back. */
  isStrict(lane: string): boolean;
}

/**
 * Validates and freezes routing policy input.
 *
 * @throws GraylaneError `GRAYLANE_ERR_CONFIG_INVALID` listing every invalid lane name.
 */
export function compilePolicy(input: RoutingPolicyInput = {}): RoutingPolicy {
  const issues: string[] = [];
  const chains = new Map<string, readonly string[]>();

  for (const [key, steps] of Object.entries(input.fallback ?? {})) {
    const lane = parseLane(key);
    if (lane === null || lane === undefined) {
      issues.push(`fallback["${key}"]: not a lane name (the base lane has no fallback)`);
      continue;
    }
    if (!Array.isArray(steps)) {
      issues.push(`fallback["${key}"]: expected an array of lane names`);
      continue;
    }
    const chain: string[] = [];
    steps.forEach((raw: unknown, i) => {
      const step = typeof raw === 'string' ? parseLane(raw) : null;
      if (step === null) issues.push(`fallback["${key}"][${i}]: "${String(raw)}" is not a lane name`);
      else if (step === undefined) {
        if (i !== steps.length - 1) issues.push(`fallback["${key}"][${i}]: base is always tried last; remove it or move it to the end`);
      } else if (step !== lane && !chain.includes(step)) chain.push(step);
    });
    chains.set(lane, Object.freeze(chain));
  }

  const isStrict = compileStrict(input.strict, issues);
  if (issues.length > 0) {
    throw new GraylaneError(ErrorCode.CONFIG_INVALID, `invalid routing policy: ${issues.join('; ')}`, {
      details: { issues },
    });
  }
  return {
    chain: (lane) => chains.get(lane) ?? NO_CHAIN,
    isStrict,
  };
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
