import type { Condition, LaneRuleSet, Percentage } from '../model/types.js';
import type { IssueList } from '../model/issues.js';
import type { RuleOrigins } from './merge.js';
import { rulesInPrecedenceOrder } from './precedence.js';
import type { RankedRule } from './precedence.js';

/** Largest disjunctive normal form the shadow check expands; bigger conditions are not checked. */
const MAX_ALTERNATIVES = 64;

/**
 * Warns about rules that can never decide a lane because an earlier rule (in precedence order)
 * matches every request they match. The check is conservative: it compares conditions as sets of
 * identical predicates (after expanding AND/OR), so it never warns wrongly but may miss a case.
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
  ranked.forEach((later, j) => {
    for (let i = 0; i < j; i++) {
      const earlier = ranked[i]!;
      if (!covers(earlier, forms[i], later, forms[j])) continue;
      const how = `${where(earlier)} (priority ${earlier.rule.priority}) matches every request this rule matches`;
      issues.warn(
        where(later),
        earlier.lane === later.lane
          ? `rule is redundant in lane "${later.lane.tag}": the rule at ${how}`
          : `rule of lane "${later.lane.tag}" can never match: lane "${earlier.lane.tag}"'s rule at ${how}; give this rule a lower priority number or narrow the other`,
      );
      return;
    }
  });
}

function covers(a: RankedRule, aForm: Set<string>[] | undefined, b: RankedRule, bForm: Set<string>[] | undefined): boolean {
  if (!aForm || !bForm) return false;
  if (a.entries !== undefined && (b.entries === undefined || !b.entries.every((e) => a.entries!.includes(e)))) return false;
  if (!percentageCovers(a.lane.percentage, b.lane.percentage)) return false;
  return bForm.every((bAlt) => aForm.some((aAlt) => [...aAlt].every((p) => bAlt.has(p))));
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
