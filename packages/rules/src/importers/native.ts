import { laneShallowSchema, matchRuleSchema } from '../model/schema.js';
import type { ConditionDoc, LaneDoc, MatchRuleDoc, NativeSpecDoc } from '../model/schema.js';
import { validate } from '../model/validate.js';
import { joinPath } from '../model/issues.js';
import type { IssueList } from '../model/issues.js';
import type { Percentage } from '../model/types.js';
import { fieldName, toCondition } from '../compile/conditions.js';
import { emptyContribution } from '../compile/fragment.js';
import type { DocumentContribution, LaneSettings, RuleFragment } from '../compile/fragment.js';

/** Imports a native spec (`{ groups, lanes, workloads }`) found at `path`; lanes are checked here one by one. */
export function importNative(spec: NativeSpecDoc, path: string, issues: IssueList): DocumentContribution {
  const out = emptyContribution();
  spec.groups?.forEach((group, i) => {
    out.groups.push({
      path: joinPath(path, ['groups', i]),
      group: { name: group.name, entries: group.entries, apps: group.apps ?? [] },
    });
  });
  spec.workloads?.forEach((workload, i) => {
    out.workloads.push({ path: joinPath(path, ['workloads', i]), workload: { app: workload.app, labels: workload.labels } });
  });
  spec.lanes?.forEach((input, i) => {
    const lanePath = joinPath(path, ['lanes', i]);
    const lane = validate(laneShallowSchema, input, lanePath, issues);
    if (!lane) return;
    const settings: LaneSettings = {
      group: lane.group,
      enabled: lane.enabled,
      priority: lane.priority,
      fallback: lane.fallback,
      strict: lane.strict,
    };
    if (lane.percentage !== undefined) {
      const percentage = toPercentage(lane.percentage, joinPath(lanePath, ['percentage']), issues);
      if (percentage) settings.percentage = percentage;
    }
    const rules: RuleFragment[] = [];
    lane.match?.forEach((input, j) => {
      const rulePath = joinPath(lanePath, ['match', j]);
      const doc = validate(matchRuleSchema, input, rulePath, issues);
      const condition = doc && toCondition(withoutRuleExtras(doc), rulePath, issues);
      if (doc && condition) rules.push({ path: rulePath, priority: doc.priority, entries: doc.entries, condition });
    });
    out.lanes.push({ tag: lane.tag, path: lanePath, declared: true, settings, origins: {}, rules });
  });
  return out;
}

function toPercentage(doc: NonNullable<LaneDoc['percentage']>, path: string, issues: IssueList): Percentage | undefined {
  if (typeof doc === 'number') return { value: doc, key: undefined };
  if (doc.key === undefined) return { value: doc.value, key: undefined };
  const name = fieldName(doc.key.type, doc.key.name, joinPath(path, ['key', 'name']), issues);
  return name === undefined ? undefined : { value: doc.value, key: { type: doc.key.type, name } };
}

/** A match rule's condition: the rule minus its `priority` and `entries`. */
function withoutRuleExtras(doc: MatchRuleDoc): ConditionDoc {
  const { priority: _priority, entries: _entries, ...condition } = doc;
  return condition;
}
