import type { Condition, LaneRuleSet, Percentage } from '../model/types.js';
import type { IssueList } from '../model/issues.js';
import type { RuleOrigins } from './merge.js';
import { rulesInPrecedenceOrder } from './precedence.js';
import type { RankedRule } from './precedence.js';

/** Largest disjunctive normal form the shadow check expands; bigger conditions are not checked. */
const MAX_ALTERNATIVES = 64;

/**
 * Most earlier rules the shadow check looks at for one rule (the earliest candidates first). Keeps
 * the check linear in the number of rules when many rules share their rarest predicate; a rule
 * whose candidates were cut is counted in one warning that says the check was bounded.
 */
export const MAX_SHADOW_CANDIDATES = 256;

/** An alternative of a condition in disjunctive normal form: the keys of the predicates it ANDs. */
type Alternative = ReadonlySet<string>;

/**
 * Warns about rules that can never decide a lane because an earlier rule (in precedence order)
 * matches every request they match. The check is conservative: it compares conditions as sets of
 * identical predicates (after expanding AND/OR), so it never warns wrongly but may miss a case.
 *
 * It runs in time linear in the number of rules: each rule's alternatives are indexed by their
 * rarest predicate, and a later rule is compared only with the earlier rules indexed under one of
 * its own predicates (a rule can only cover another whose every alternative holds all its
 * predicates), at most {@link MAX_SHADOW_CANDIDATES} of them.
 */
export function warnShadowedRules(rules: LaneRuleSet, origins: RuleOrigins, lanePaths: ReadonlyMap<string, string>, issues: IssueList): void {
  const ranked = rulesInPrecedenceOrder(rules);
  const forms = ranked.map((entry) => alternatives(entry.rule.condition));
  const where = (entry: RankedRule) => origins.get(entry.rule) ?? lanePaths.get(entry.lane.tag) ?? '';
  for (const lane of rules.lanes) {
    if (lane.enabled && lane.percentage?.value === 0) {
      issues.warn(lanePaths.get(lane.tag) ?? '', `lane "${lane.tag}" has percentage 0 and never matches`);
    }
  }
  const frequency = new Map<string, number>();
  for (const form of forms) for (const alt of form ?? []) for (const key of alt) frequency.set(key, (frequency.get(key) ?? 0) + 1);
  /** Earlier rules by the rarest predicate of one of their alternatives, in precedence order. */
  const index = new Map<string, number[]>();
  /** Earlier rules with an alternative that matches every request (`all: []`). */
  const universal: number[] = [];
  const seen = new Int32Array(ranked.length).fill(-1);
  let bounded = 0;
  ranked.forEach((later, j) => {
    const form = forms[j];
    if (!form || form.length === 0) return;
    const { candidates, cut } = candidatesFor(form[0]!, index, universal, seen, j);
    if (cut) bounded++;
    for (const i of candidates) {
      const earlier = ranked[i]!;
      if (!covers(earlier, forms[i], later, form)) continue;
      const how = `${where(earlier)} (priority ${earlier.rule.priority}) matches every request this rule matches`;
      issues.warn(
        where(later),
        earlier.lane === later.lane
          ? `rule is redundant in lane "${later.lane.tag}": the rule at ${how}`
          : `rule of lane "${later.lane.tag}" can never match: lane "${earlier.lane.tag}"'s rule at ${how}; give this rule a lower priority number or narrow the other`,
      );
      break;
    }
    for (const alt of form) {
      const anchor = rarest(alt, frequency);
      if (anchor === undefined) {
        if (universal[universal.length - 1] !== j) universal.push(j);
        continue;
      }
      const list = index.get(anchor);
      if (!list) index.set(anchor, [j]);
      else if (list[list.length - 1] !== j) list.push(j);
    }
  });
  if (bounded > 0) {
    issues.warn(
      '',
      `the check for rules that can never match compared each rule with at most ${MAX_SHADOW_CANDIDATES} earlier rules sharing a condition; ${bounded} rule${bounded === 1 ? ' was' : 's were'} not compared with every such rule`,
    );
  }
}

/**
 * Earlier rules that may cover a rule whose first alternative is `alt`, earliest first: those with
 * an alternative anchored on one of `alt`'s predicates, and those that match everything.
 */
function candidatesFor(
  alt: Alternative,
  index: ReadonlyMap<string, readonly number[]>,
  universal: readonly number[],
  seen: Int32Array,
  j: number,
): { candidates: number[]; cut: boolean } {
  const candidates: number[] = [];
  let cut = false;
  const take = (list: readonly number[]) => {
    for (const i of list) {
      if (seen[i] === j) continue;
      if (candidates.length >= MAX_SHADOW_CANDIDATES) {
        cut = true;
        return;
      }
      seen[i] = j;
      candidates.push(i);
    }
  };
  take(universal);
  for (const key of alt) {
    const list = index.get(key);
    if (list) take(list);
  }
  return { candidates: candidates.sort((a, b) => a - b), cut };
}

/** The alternative's predicate that the fewest alternatives hold, or undefined for the empty one. */
function rarest(alt: Alternative, frequency: ReadonlyMap<string, number>): string | undefined {
  let best: string | undefined;
  let count = Infinity;
  for (const key of alt) {
    const n = frequency.get(key) ?? 0;
    if (n < count) {
      best = key;
      count = n;
    }
  }
  return best;
}

function covers(a: RankedRule, aForm: Alternative[] | undefined, b: RankedRule, bForm: Alternative[]): boolean {
  if (!aForm) return false;
  if (a.entries !== undefined && (b.entries === undefined || !b.entries.every((e) => a.entries!.includes(e)))) return false;
  if (!percentageCovers(a.lane.percentage, b.lane.percentage)) return false;
  return bForm.every((bAlt) => aForm.some((aAlt) => subset(aAlt, bAlt)));
}

function subset(a: Alternative, b: Alternative): boolean {
  if (a.size > b.size) return false;
  for (const key of a) if (!b.has(key)) return false;
  return true;
}

/** A admits every request B admits: A has no limit, or both draw the same bucket and A's share is larger. */
function percentageCovers(a: Percentage | undefined, b: Percentage | undefined): boolean {
  if (a === undefined || (a.key === undefined && a.value === 100)) return true;
  return b !== undefined && JSON.stringify(a.key) === JSON.stringify(b.key) && a.value >= b.value;
}

/** The condition as OR of ANDs of predicate keys, or undefined when it would exceed MAX_ALTERNATIVES. */
function alternatives(condition: Condition): Set<string>[] | undefined {
  if ('any' in condition) {
    const out: Set<string>[] = [];
    for (const child of condition.any) {
      const form = alternatives(child);
      if (!form || out.length + form.length > MAX_ALTERNATIVES) return undefined;
      out.push(...form);
    }
    return out;
  }
  if ('all' in condition) {
    let out: Set<string>[] = [new Set()];
    for (const child of condition.all) {
      const form = alternatives(child);
      if (!form || out.length * form.length > MAX_ALTERNATIVES) return undefined;
      out = out.flatMap((left) => form.map((right) => new Set([...left, ...right])));
    }
    return out;
  }
  return [new Set([JSON.stringify(condition)])];
}
