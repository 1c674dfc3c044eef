import { BASE_LANE } from '@graylane/core';
import type { Condition, Field, Lane, LaneRuleSet, MatchRule, Predicate } from '@graylane/rules';

/**
 * The native, Kubernetes-style document of a compiled rule set. Parsing it yields the same rules:
 * defaults are left out, and the `base` the compiler appends to non-strict fallback chains too.
 * The one rewrite is of empty groups, which the native form cannot write: an empty `all` (a
 * TrafficRouter route without `match`, which takes every request) becomes `random < 100`, and an
 * empty `any` `random < 0`, which hold for every request and for none, as the groups do.
 */
export function toNativeDocument(rules: LaneRuleSet): Record<string, unknown> {
  const spec = {
    groups: rules.groups.map(({ name, entries, apps }) => ({ name, entries, ...(apps.length > 0 ? { apps } : {}) })),
    lanes: rules.lanes.map(nativeLane),
    workloads: rules.workloads.map(({ app, labels }) => ({ app, labels })),
  };
  return {
    apiVersion: 'graylane.io/v1alpha1',
    kind: 'LaneRules',
    spec: Object.fromEntries(Object.entries(spec).filter(([, list]) => list.length > 0)),
  };
}

function nativeLane(lane: Lane): Record<string, unknown> {
  const fallback = lane.fallback.filter((tag) => tag !== BASE_LANE);
  return {
    tag: lane.tag,
    ...(lane.group === undefined ? {} : { group: lane.group }),
    ...(lane.enabled ? {} : { enabled: false }),
    ...(lane.priority === 0 ? {} : { priority: lane.priority }),
    ...(lane.match.length === 0 ? {} : { match: lane.match.map((rule) => nativeRule(rule, lane.priority)) }),
    ...(lane.percentage === undefined
      ? {}
      : { percentage: lane.percentage.key ? { value: lane.percentage.value, key: nativeField(lane.percentage.key) } : lane.percentage.value }),
    ...(fallback.length === 0 ? {} : { fallback }),
    ...(lane.strict ? { strict: true } : {}),
  };
}

function nativeRule(rule: MatchRule, lanePriority: number): Record<string, unknown> {
  return {
    ...nativeCondition(rule.condition),
    ...(rule.priority === lanePriority ? {} : { priority: rule.priority }),
    ...(rule.entries === undefined ? {} : { entries: rule.entries }),
  };
}

/** A compiled condition as the native form writes it: unnamed fields (path, method, host) carry no `name`. */
export function nativeCondition(condition: Condition): Record<string, unknown> {
  if ('all' in condition) return condition.all.length === 0 ? { operator: 'random', percentage: 100 } : { all: condition.all.map(nativeCondition) };
  if ('any' in condition) return condition.any.length === 0 ? { operator: 'random', percentage: 0 } : { any: condition.any.map(nativeCondition) };
  return nativePredicate(condition);
}

function nativePredicate(predicate: Predicate): Record<string, unknown> {
  if (predicate.operator === 'random') return { ...predicate };
  const { type, name, ...test } = predicate;
  return { ...nativeField({ type, name }), ...test };
}

function nativeField({ type, name }: Field): Record<string, unknown> {
  return name === '' ? { type } : { type, name };
}
