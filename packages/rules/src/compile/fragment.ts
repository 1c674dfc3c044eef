import type { Condition, LaneGroup, Percentage, WorkloadLabel } from '../model/types.js';

/** Lane settings an importer may set; unset ones take defaults when fragments are merged. */
export interface LaneSettings {
  group?: string;
  enabled?: boolean;
  priority?: number;
  percentage?: Percentage;
  fallback?: readonly string[];
  strict?: boolean;
}

/** A match rule before the lane's priority is known. */
export interface RuleFragment {
  readonly path: string;
  readonly priority: number | undefined;
  readonly entries: readonly string[] | undefined;
  readonly condition: Condition;
}

/**
 * What one document says about one lane. Several documents may speak about the same lane (two
 * TrafficLabelRules with one trafficLabel): their rules are OR'ed and their settings must agree.
 */
export interface LaneFragment {
  readonly tag: string;
  /** Path of the lane's declaration, for messages. */
  readonly path: string;
  /** Path of the tag as written, when it is not `<path>.tag` (MSE's `Tag`). */
  readonly tagPath?: string;
  /** True for a native lane declaration, which may appear only once per tag. */
  readonly declared: boolean;
  readonly settings: LaneSettings;
  /** Path of each setting, for conflict messages. */
  readonly origins: Partial<Record<keyof LaneSettings, string>>;
  readonly rules: readonly RuleFragment[];
}

/** Everything one document contributes. */
export interface DocumentContribution {
  readonly lanes: LaneFragment[];
  readonly groups: { readonly path: string; readonly group: LaneGroup }[];
  readonly workloads: { readonly path: string; readonly workload: WorkloadLabel }[];
}

/** An empty contribution, for importers to fill. */
export function emptyContribution(): DocumentContribution {
  return { lanes: [], groups: [], workloads: [] };
}
