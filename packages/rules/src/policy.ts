import { BASE_LANE } from '@graylane/core';
import type { LaneRuleSet } from './model/types.js';

/** Per-lane fallback chains and the strict lanes, as the router needs them. */
export interface FallbackPolicy {
  /** Lane → lanes to try in order when the callee has no instance in it (ends with `base` unless strict). */
  readonly fallback: Record<string, string[]>;
  /** Lanes that never fall back to base. */
  readonly strict: string[];
}

/** The fallback chains and strict flags of every lane (disabled lanes included: carried tags still route). */
export function fallbackPolicy(rules: LaneRuleSet): FallbackPolicy {
  const fallback: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  const strict: string[] = [];
  for (const lane of rules.lanes) {
    if (lane.tag === BASE_LANE) continue;
    fallback[lane.tag] = [...lane.fallback];
    if (lane.strict) strict.push(lane.tag);
  }
  return { fallback, strict };
}
