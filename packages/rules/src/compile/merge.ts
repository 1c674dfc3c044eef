import { BASE_LANE, isValidLane } from '@graylane/core';
import type { Lane, LaneGroup, LaneRuleSet, MatchRule, WorkloadLabel } from '../model/types.js';
import { joinPath } from '../model/issues.js';
import type { IssueList } from '../model/issues.js';
import type { DocumentContribution, LaneFragment, LaneSettings } from './fragment.js';

/** Where each compiled match rule came from, for warnings about it. */
export type RuleOrigins = WeakMap<MatchRule, string>;

/**
 * Merges every document's contribution into one {@link LaneRuleSet}: lanes keep the order in which
 * their tag first appears, their rules concatenate in document order, and settings given twice must
 * agree. Checks lane names, fallback chains and group references.
 */
export function merge(contributions: readonly DocumentContribution[], issues: IssueList): {
  rules: LaneRuleSet;
  /** Where each rule came from. */
  origins: RuleOrigins;
  /** Where each lane was first mentioned. */
  lanePaths: Map<string, string>;
} {
  const groups = mergeGroups(contributions, issues);
  const byTag = new Map<string, LaneFragment[]>();
  for (const contribution of contributions) {
    for (const fragment of contribution.lanes) {
      const list = byTag.get(fragment.tag);
      if (list) list.push(fragment);
      else byTag.set(fragment.tag, [fragment]);
    }
  }
  const origins: RuleOrigins = new WeakMap();
  const lanes: Lane[] = [];
  for (const [tag, fragments] of byTag) {
    const lane = mergeLane(tag, fragments, groups, byTag, issues, origins);
    if (lane) lanes.push(lane);
  }
  const workloads: WorkloadLabel[] = [];
  for (const contribution of contributions) {
    for (const { path, workload } of contribution.workloads) {
      workload.labels.forEach((label, i) => checkLaneName(label, joinPath(path, ['labels', i]), issues));
      workloads.push(workload);
    }
  }
  const lanePaths = new Map([...byTag].map(([tag, fragments]) => [tag, fragments[0]!.path]));
  return { rules: { lanes, groups: [...groups.values()].map((g) => g.group), workloads }, origins, lanePaths };
}

function mergeGroups(contributions: readonly DocumentContribution[], issues: IssueList) {
  const groups = new Map<string, { path: string; group: LaneGroup }>();
  for (const contribution of contributions) {
    for (const entry of contribution.groups) {
      const first = groups.get(entry.group.name);
      if (first) issues.error(joinPath(entry.path, ['name']), `lane group "${entry.group.name}" is already declared at ${first.path}`);
      else groups.set(entry.group.name, entry);
    }
  }
  return groups;
}

function mergeLane(
  tag: string,
  fragments: readonly LaneFragment[],
  groups: ReadonlyMap<string, unknown>,
  lanesDeclared: ReadonlyMap<string, unknown>,
  issues: IssueList,
  origins: RuleOrigins,
): Lane | undefined {
  const first = fragments[0]!;
  if (!checkLaneName(tag, first.tagPath ?? joinPath(first.path, ['tag']), issues)) return undefined;
  const declared = fragments.filter((f) => f.declared);
  for (const duplicate of declared.slice(1)) {
    issues.error(joinPath(duplicate.path, ['tag']), `lane "${tag}" is already declared at ${declared[0]!.path}; list both rules in one lane's match`);
  }
  const settings: LaneSettings = {};
  const settingOrigins: Partial<Record<keyof LaneSettings, string>> = {};
  for (const fragment of fragments) {
    for (const key of Object.keys(fragment.settings) as (keyof LaneSettings)[]) {
      const value = fragment.settings[key];
      if (value === undefined) continue;
      const where = fragment.origins[key] ?? joinPath(fragment.path, [key]);
      if (settings[key] === undefined) {
        (settings as Record<string, unknown>)[key] = value;
        settingOrigins[key] = where;
      } else if (JSON.stringify(settings[key]) !== JSON.stringify(value)) {
        issues.error(where, `lane "${tag}" already sets ${key} to ${JSON.stringify(settings[key])} at ${settingOrigins[key]}; the two must agree`);
      }
    }
  }
  if (settings.group !== undefined && !groups.has(settings.group)) {
    issues.error(settingOrigins.group!, `lane group "${settings.group}" is not declared; add it to groups`);
  }
  const strict = settings.strict ?? false;
  const fallbackPath = settingOrigins.fallback ?? first.path;
  const fallback = fallbackChain(tag, settings.fallback ?? [], strict, fallbackPath, issues);
  for (const target of fallback) {
    if (target !== BASE_LANE && !lanesDeclared.has(target)) {
      issues.warn(fallbackPath, `fallback lane "${target}" has no rules here; it is used only if instances carry it`);
    }
  }
  const priority = settings.priority ?? 0;
  const match: MatchRule[] = [];
  for (const fragment of fragments) {
    for (const rule of fragment.rules) {
      const compiled: MatchRule = { priority: rule.priority ?? priority, entries: rule.entries, condition: rule.condition };
      origins.set(compiled, rule.path);
      match.push(compiled);
    }
  }
  return { tag, group: settings.group, enabled: settings.enabled ?? true, priority, match, percentage: settings.percentage, fallback, strict };
}

/** Validates a declared chain and completes it: non-strict chains end with base, strict ones never reach it. */
function fallbackChain(tag: string, chain: readonly string[], strict: boolean, path: string, issues: IssueList): string[] {
  if (tag === BASE_LANE) {
    if (chain.length > 0 || strict) issues.error(path, 'the base lane has no fallback chain and cannot be strict');
    return [];
  }
  const out: string[] = [];
  chain.forEach((lane, i) => {
    const where = joinPath(path, [i]);
    if (!checkLaneName(lane, where, issues)) return;
    if (lane === tag) issues.error(where, `lane "${tag}" cannot fall back to itself`);
    else if (out.includes(lane)) issues.error(where, `"${lane}" appears twice in the fallback chain`);
    else if (lane === BASE_LANE && strict) issues.error(where, 'a strict lane never falls back to base; remove "base" or strict: true');
    else if (lane === BASE_LANE && i !== chain.length - 1) issues.error(where, '"base" ends the chain; lanes after it are never tried');
    else out.push(lane);
  });
  if (!strict && out[out.length - 1] !== BASE_LANE) out.push(BASE_LANE);
  return out;
}

/** Lane grammar check with a message that says what a lane may look like. */
function checkLaneName(name: string, path: string, issues: IssueList): boolean {
  if (isValidLane(name)) return true;
  issues.error(path, `${JSON.stringify(name.slice(0, 80))} is not a valid lane: use 1-63 characters of A-Z a-z 0-9 . _ -, starting and ending with a letter or digit`);
  return false;
}
