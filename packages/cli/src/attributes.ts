import type { Attribute } from '@graylane/matcher';
import type { Condition, LaneRuleSet } from '@graylane/rules';

/** Names of the `type: attribute` fields the rules read, in conditions and in sticky percentage keys. */
export function attributeNames(rules: LaneRuleSet): Set<string> {
  const names = new Set<string>();
  const visit = (condition: Condition): void => {
    if ('all' in condition) condition.all.forEach(visit);
    else if ('any' in condition) condition.any.forEach(visit);
    else if ('type' in condition && condition.type === 'attribute') names.add(condition.name);
  };
  for (const lane of rules.lanes) {
    for (const rule of lane.match) visit(rule.condition);
    if (lane.percentage?.key?.type === 'attribute') names.add(lane.percentage.key.name);
  }
  return names;
}

/**
 * Attributes for `compileMatcher` outside the application that defines them: each attribute the
 * rules read returns its value from `values`, and reads as absent when `values` has none.
 */
export function constantAttributes(rules: LaneRuleSet, values: ReadonlyMap<string, string> = new Map()): Record<string, Attribute> {
  return Object.fromEntries([...attributeNames(rules)].map((name) => [name, () => values.get(name)]));
}
