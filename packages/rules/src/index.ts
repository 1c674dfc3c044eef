export { parseRules, validateRules } from './parse.js';
export type { ParseRulesOptions, ParsedRules, RuleValidation } from './parse.js';
export { PARSE_IN_WORKER_CHARS, parseRulesInWorker } from './worker.js';
export type { ParseInWorkerOptions, ParsedRulesWithPolicy } from './worker.js';
export { fallbackPolicy } from './policy.js';
export type { FallbackPolicy } from './policy.js';
export { nativeRuleJsonSchema } from './json-schema.js';
export { rankRules, rulesInPrecedenceOrder } from './compile/precedence.js';
export type { RankedRule } from './compile/precedence.js';
export { MAX_CONDITIONS, MAX_DOCUMENTS, MAX_LANES, MAX_REGEX_LENGTH, MAX_RULE_TEXT_LENGTH } from './model/limits.js';
export { regexProblem } from './compile/conditions.js';
export { LANE_STORE_KIND, applyLaneStore, emptyLaneStore, isLaneActive, laneRuleFromExpression, laneStoreState, parseLaneStore, serializeLaneStore } from './model/lane-object.js';
export type { LaneObject, LaneStore } from './model/lane-object.js';
export type {
  AllCondition,
  AnyCondition,
  CompareOperator,
  ComparePredicate,
  Condition,
  Field,
  FieldType,
  Lane,
  LaneGroup,
  LaneRuleSet,
  ListPredicate,
  MatchRule,
  ModuloPredicate,
  Operator,
  Percentage,
  Predicate,
  PresencePredicate,
  RandomPredicate,
  RuleIssue,
  StickyPredicate,
  TextPredicate,
  WorkloadLabel,
} from './model/types.js';
