import { BASE_LANE, ErrorCode, GraylaneError } from '@graylane/core';
import { rulesInPrecedenceOrder } from '@graylane/rules';
import type { Condition, LaneRuleSet, Percentage } from '@graylane/rules';
import type { RequestView } from './request-view.js';
import { stickyBucket } from './hash.js';
import { compileCondition } from './compile/condition.js';
import type { CompileContext } from './compile/condition.js';
import type { Test } from './compile/predicate.js';
import { fieldReader } from './compile/field.js';
import type { Attribute } from './compile/field.js';
import { Memo } from './compile/memo.js';
import { nextRequest, randomBucket } from './compile/state.js';
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
  const state: MatchState = { epoch: 0, draw: -1, random: options.random ?? Math.random };
  const context: CompileContext = { attributes: options.attributes ?? {}, state, memo: new Memo(state), issues: [] };
  const ranked = rulesInPrecedenceOrder(rules).filter(
    ({ entries }) => options.entry === undefined || entries === undefined || entries.includes(options.entry),
  );
  for (const { lane, rule } of ranked) {
    context.memo.count(rule.condition);
    if (lane.percentage?.key) context.memo.countField(lane.percentage.key);
  }
  const conditions: Test[] = [];
  const tests: Test[] = [];
  const lanes: (string | undefined)[] = [];
  const explained: ExplainedRule[] = [];
  for (const { lane, rule, laneIndex, ruleIndex } of ranked) {
    const path = `lanes[${laneIndex}]`;
    const condition = compileCondition(rule.condition, `${path}.match[${ruleIndex}]`, context);
    const admit = lane.percentage && compilePercentage(lane.percentage, `${path}.percentage`, context);
    conditions.push(condition);
    tests.push(admit ? (req) => condition(req) && admit(req) : condition);
    lanes.push(lane.tag === BASE_LANE ? undefined : lane.tag);
    explained.push({ tag: lane.tag, laneIndex, ruleIndex, priority: rule.priority, condition: rule.condition });
  }
  const { issues } = context;
  if (issues.length > 0) {
    const summary = issues.map((issue) => `  ${issue.path}: ${issue.message}`).join('\n');
    throw new GraylaneError(ErrorCode.RULE_INVALID, `lane rules cannot be compiled:\n${summary}`, { details: { issues } });
  }
  const count = tests.length;

  return {
    match(req) {
      nextRequest(state);
      for (let i = 0; i < count; i++) if (tests[i]!(req)) return lanes[i];
      return undefined;
    },
    explain(req) {
      nextRequest(state);
      const notAdmitted: ExplainedRule[] = [];
      for (let i = 0; i < count; i++) {
        if (tests[i]!(req)) return { lane: lanes[i], rule: explained[i], notAdmitted };
        if (conditions[i]!(req)) notAdmitted.push(explained[i]!);
      }
      return { lane: undefined, rule: undefined, notAdmitted };
    },
  };
}

function compilePercentage(percentage: Percentage, path: string, context: CompileContext): Test {
  const { value, key } = percentage;
  const state = context.state;
  if (key === undefined) return () => randomBucket(state) < value;
  const raw = fieldReader(key, context.attributes);
  if (typeof raw === 'string') {
    context.issues.push({ path: `${path}.key.name`, message: raw, severity: 'error' });
    return () => false;
  }
  const read = context.memo.field(key, raw);
  return (req) => {
    const k = read(req);
    return k !== undefined && stickyBucket(k) < value;
  };
}
