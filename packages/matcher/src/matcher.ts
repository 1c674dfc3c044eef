import { BASE_LANE, ErrorCode, GraylaneError } from '@graylane/core';
import { rulesInPrecedenceOrder } from '@graylane/rules';
import type { Condition, LaneRuleSet, Percentage, RuleIssue } from '@graylane/rules';
import type { RequestView } from './request-view.js';
import { stickyBucket } from './hash.js';
import { compileCondition } from './compile/condition.js';
import type { Test } from './compile/predicate.js';
import { fieldReader } from './compile/field.js';
import type { Attribute } from './compile/field.js';
import { randomBucket } from './compile/state.js';
import type { MatchState } from './compile/state.js';

/** Options of {@link compileMatcher}. */
export interface CompileMatcherOptions {
  /**
   * The app (or gateway) this matcher runs in. Rules scoped to entries (a rule's `entries`, its lane
   * group's `entries`) apply only when this is one of them; omitted, every rule applies.
   */
  readonly entry?: string;
  /** Functions behind `type: attribute` conditions, by name. A throwing attribute reads as absent. */
  readonly attributes?: Readonly<Record<string, Attribute>>;
  /** Source of randomness in [0, 1) for random percentages; default `Math.random`. */
  readonly random?: () => number;
}

/** Why a request got its lane: the deciding rule, and rules whose lane percentage turned it away. */
export interface MatchExplanation {
  /** What {@link LaneMatcher.match} returns: the lane, or `undefined` for base. */
  readonly lane: string | undefined;
  /** The rule that decided, or `undefined` when no rule matched. */
  readonly rule: ExplainedRule | undefined;
  /** Rules whose condition held but whose lane's percentage did not admit the request. */
  readonly notAdmitted: readonly ExplainedRule[];
}

/** A rule named in a {@link MatchExplanation}. */
export interface ExplainedRule {
  /** The lane tag (`base` for a base lane). */
  readonly tag: string;
  /** Index of the lane in `rules.lanes`, and of the rule in its `match` (-1: the lane's implicit rule). */
  readonly laneIndex: number;
  readonly ruleIndex: number;
  readonly priority: number;
  readonly condition: Condition;
}

/** Decides a request's lane. Compiled once from a rule set; `match` parses nothing. */
export interface LaneMatcher {
  /** The winning lane, or `undefined` for base (no rule matched, or a base lane won). */
  match(req: RequestView): string | undefined;
  /** Like `match`, and says which rule decided; for debugging (allocates). */
  explain(req: RequestView): MatchExplanation;
}

/**
 * Compiles rules into a {@link LaneMatcher}. Rules are tried in precedence order (priority, lower
 * first; then lane order; then rule order); the first whose condition holds and whose lane
 * percentage admits the request decides.
 *
 * @throws GraylaneError `GRAYLANE_ERR_RULE_INVALID` when a regex is refused or an attribute is not supplied.
 */
export function compileMatcher(rules: LaneRuleSet, options: CompileMatcherOptions = {}): LaneMatcher {
  const attributes = options.attributes ?? {};
  const state: MatchState = { draw: -1, random: options.random ?? Math.random };
  const issues: RuleIssue[] = [];
  const ranked = rulesInPrecedenceOrder(rules).filter(
    ({ entries }) => options.entry === undefined || entries === undefined || entries.includes(options.entry),
  );
  const conditions: Test[] = [];
  const tests: Test[] = [];
  const lanes: (string | undefined)[] = [];
  const explained: ExplainedRule[] = [];
  for (const { lane, rule, laneIndex, ruleIndex } of ranked) {
    const path = `lanes[${laneIndex}]`;
    const condition = compileCondition(rule.condition, `${path}.match[${ruleIndex}]`, attributes, state, issues);
    const admit = lane.percentage && compilePercentage(lane.percentage, `${path}.percentage`, attributes, state, issues);
    conditions.push(condition);
    tests.push(admit ? (req) => condition(req) && admit(req) : condition);
    lanes.push(lane.tag === BASE_LANE ? undefined : lane.tag);
    explained.push({ tag: lane.tag, laneIndex, ruleIndex, priority: rule.priority, condition: rule.condition });
  }
  if (issues.length > 0) {
    const summary = issues.map((issue) => `  ${issue.path}: ${issue.message}`).join('\n');
    throw new GraylaneError(ErrorCode.RULE_INVALID, `lane rules cannot be compiled:\n${summary}`, { details: { issues } });
  }
  const count = tests.length;

  return {
    match(req) {
      state.draw = -1;
      for (let i = 0; i < count; i++) if (tests[i]!(req)) return lanes[i];
      return undefined;
    },
    explain(req) {
      state.draw = -1;
      const notAdmitted: ExplainedRule[] = [];
      for (let i = 0; i < count; i++) {
        if (tests[i]!(req)) return { lane: lanes[i], rule: explained[i], notAdmitted };
        if (conditions[i]!(req)) notAdmitted.push(explained[i]!);
      }
      return { lane: undefined, rule: undefined, notAdmitted };
    },
  };
}

function compilePercentage(
  percentage: Percentage,
  path: string,
  attributes: Readonly<Record<string, Attribute>>,
  state: MatchState,
  issues: RuleIssue[],
): Test {
  const { value, key } = percentage;
  if (key === undefined) return () => randomBucket(state) < value;
  const read = fieldReader(key, attributes);
  if (typeof read === 'string') {
    issues.push({ path: `${path}.key.name`, message: read, severity: 'error' });
    return () => false;
  }
  return (req) => {
    const k = read(req);
    return k !== undefined && stickyBucket(k) < value;
  };
}
