import { BASE_LANE } from '@graylane/core';
import type { LaneRuleSet } from './model/types.js';

/**
 * Per-lane fallback chains and the strict lanes, as the router needs them. Frozen, arrays
 * included: a router may keep what it made of an array it has seen before (see `compilePolicy`).
 */
export interface FallbackPolicy {
  /** Lane → lanes to try in order when the callee has no instance in it (ends with `base` unless strict). */
  readonly fallback: Readonly<Record<string, readonly string[]>>;
  /** Lanes that never fall back to base. */
  readonly strict: readonly string[];
}

/**
 * The fallback chains and strict flags of every lane (disabled lanes included: carried tags still
 * route). With `previous` (the policy of the rules these revise), a lane whose chain is unchanged
 * gets the very array `previous` has for it, and an unchanged strict list is `previous.strict`, so
 * that a router can tell unchanged lanes by identity (at 10,000 lanes, `setPolicy` compiling them all
 * again took 3.4 to 9.1 ms of the event loop).
 */
export function fallbackPolicy(rules: LaneRuleSet, previous?: FallbackPolicy): FallbackPolicy {
  const steps = fallbackPolicySteps(rules, previous);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** Lanes {@link fallbackPolicySteps} reads between two yields. */
const LANES_PER_STEP = 500;

/**
 * {@link fallbackPolicy} one step at a time: it yields after every few hundred lanes, so that a
 * caller can give the event loop its turn in between (10,000 lanes received from the rules worker
 * took about 5 ms in one piece).
 */
export function* fallbackPolicySteps(rules: LaneRuleSet, previous?: FallbackPolicy): Generator<void, FallbackPolicy, void> {
  const fallback: Record<string, readonly string[]> = Object.create(null) as Record<string, readonly string[]>;
  const strict: string[] = [];
  const before = previous?.fallback;
  const { lanes } = rules;
  for (let i = 0; i < lanes.length; i++) {
    if (i % LANES_PER_STEP === LANES_PER_STEP - 1) yield;
    const lane = lanes[i]!;
    if (lane.tag === BASE_LANE) continue;
    const kept = before !== undefined && Object.hasOwn(before, lane.tag) ? before[lane.tag] : undefined;
    fallback[lane.tag] = kept !== undefined && sameSteps(kept, lane.fallback) ? kept : Object.freeze([...lane.fallback]);
    if (lane.strict) strict.push(lane.tag);
  }
  return Object.freeze({
    fallback: Object.freeze(fallback),
    strict: previous !== undefined && sameSteps(previous.strict, strict) ? previous.strict : Object.freeze(strict),
  });
}

function sameSteps(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
