import { groupSchema, laneShallowSchema, matchRuleSchema, nativeSpecShallowSchema, workloadSchema } from '../model/schema.js';
import type { ConditionDoc, LaneDoc, MatchRuleDoc } from '../model/schema.js';
import { validate, validateFields } from '../model/validate.js';
import { joinPath } from '../model/issues.js';
import type { IssueList } from '../model/issues.js';
import type { Percentage } from '../model/types.js';
import { fieldName, toCondition } from '../compile/conditions.js';
import { emptyContribution } from '../compile/fragment.js';
import type { DocumentContribution, LaneSettings, RuleFragment } from '../compile/fragment.js';

/**
 * Imports a native spec (`{ groups, lanes, workloads }`) found at `path`. Groups, lanes, workloads
 * and match rules are checked one by one, and a lane with a bad field still has its match rules
 * checked, so that one problem hides no other.
 */
export function importNative(input: unknown, path: string, issues: IssueList): DocumentContribution {
  const out = emptyContribution();
  const spec = validateFields(nativeSpecShallowSchema, input, path, issues)?.value;
  if (!spec) return out;
  spec.groups?.forEach((input, i) => {
    const groupPath = joinPath(path, ['groups', i]);
    const group = validate(groupSchema, input, groupPath, issues);
    if (group) out.groups.push({ path: groupPath, group: { name: group.name, entries: group.entries, apps: group.apps ?? [] } });
  });
  spec.workloads?.forEach((input, i) => {
    const workloadPath = joinPath(path, ['workloads', i]);
    const workload = validate(workloadSchema, input, workloadPath, issues);
    if (workload) out.workloads.push({ path: workloadPath, workload: { app: workload.app, labels: workload.labels } });
  });
  spec.lanes?.forEach((input, i) => {
    const lanePath = joinPath(path, ['lanes', i]);
    const checked = validateFields(laneShallowSchema, input, lanePath, issues);
    if (!checked) return;
    const lane = checked.value;
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
    // A lane whose tag failed is left out of the merge (its rules were checked above); one with a
    // valid tag and another bad field still takes part, so that references to it are not reported as missing.
    if (checked.ok || lane.tag !== undefined) out.lanes.push({ tag: lane.tag!, path: lanePath, declared: true, settings, origins: {}, rules });
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
