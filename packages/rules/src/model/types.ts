/**
 * The compiled rule model: what every importer produces and what `@graylane/matcher` evaluates.
 * Plain, readonly data with defaults filled in, so a consumer never re-validates or re-defaults.
 */

/** Where a predicate reads its value from. */
export type FieldType = 'header' | 'query' | 'cookie' | 'path' | 'method' | 'host' | 'attribute';

/** Comparison operators; numeric when both sides are decimal numbers, else string comparison. */
export type CompareOperator = '==' | '!=' | '>' | '<' | '>=' | '<=';

/** Every predicate operator of the native form. */
export type Operator =
  | CompareOperator
  | 'in'
  | 'not in'
  | 'prefix'
  | 'suffix'
  | 'contains'
  | 'regex'
  | 'exists'
  | 'not exists'
  | 'modulo'
  | 'sticky'
  | 'random';

/**
 * The request field a predicate reads. `name` is the header (lower-cased), query parameter, cookie
 * or attribute name, and `''` for `path`, `method` and `host`.
 */
export interface Field {
  readonly type: FieldType;
  readonly name: string;
}

/** `field <operator> value`. `value` is a string (YAML numbers are stringified). */
export interface ComparePredicate extends Field {
  readonly operator: CompareOperator;
  readonly value: string;
}

/** `field in values` / `field not in values` (exact string membership). */
export interface ListPredicate extends Field {
  readonly operator: 'in' | 'not in';
  readonly values: readonly string[];
}

/** String tests: prefix, suffix, contains, and regex (a vetted JavaScript pattern, no flags). */
export interface TextPredicate extends Field {
  readonly operator: 'prefix' | 'suffix' | 'contains' | 'regex';
  readonly value: string;
}

/** Presence tests. */
export interface PresencePredicate extends Field {
  readonly operator: 'exists' | 'not exists';
}

/** `integer(field) % divisor <compare> remainder` (JavaScript remainder: its sign follows the field). */
export interface ModuloPredicate extends Field {
  readonly operator: 'modulo';
  readonly divisor: number;
  readonly remainder: number;
  readonly compare: CompareOperator;
}

/** Sticky percentage: `fnv1a32(utf8(field)) % 100 < percentage`, stable per key. */
export interface StickyPredicate extends Field {
  readonly operator: 'sticky';
  readonly percentage: number;
}

/**
 * Random percentage: `bucket < percentage`, where `bucket` is one integer in [0, 100) drawn once per
 * request and shared by every random test of that request.
 */
export interface RandomPredicate {
  readonly operator: 'random';
  readonly percentage: number;
}

/** One test on a request. */
export type Predicate =
  | ComparePredicate
  | ListPredicate
  | TextPredicate
  | PresencePredicate
  | ModuloPredicate
  | StickyPredicate
  | RandomPredicate;

/** Every condition holds (AND); an empty list holds for every request. */
export interface AllCondition {
  readonly all: readonly Condition[];
}

/** At least one condition holds (OR). */
export interface AnyCondition {
  readonly any: readonly Condition[];
}

/** A predicate or an AND / OR group of conditions. */
export type Condition = Predicate | AllCondition | AnyCondition;

/** One way into a lane: a condition with its precedence and, optionally, the entry apps it applies at. */
export interface MatchRule {
  /** Lower runs first; inherited from the lane when the document gives none. */
  readonly priority: number;
  /** Entry apps this rule applies at; `undefined` means the lane's group entries, or everywhere. */
  readonly entries: readonly string[] | undefined;
  readonly condition: Condition;
}

/** Share of a lane's matching traffic it takes: random per request, or sticky by a request key. */
export interface Percentage {
  /** Integer 0-100. */
  readonly value: number;
  /** The key for sticky percentages; `undefined` for a random draw. */
  readonly key: Field | undefined;
}

/** A lane and how requests get into it and out of it. */
export interface Lane {
  /** The lane tag; `base` pins matching requests to base. */
  readonly tag: string;
  /** The lane group this lane belongs to, if any. */
  readonly group: string | undefined;
  readonly enabled: boolean;
  /** Default priority of the lane's match rules; lower runs first. */
  readonly priority: number;
  /** Alternatives (OR): the lane matches when any rule matches. Empty: only `percentage` can match. */
  readonly match: readonly MatchRule[];
  /** Restricts the lane to a share of the traffic its rules match (all traffic when `match` is empty). */
  readonly percentage: Percentage | undefined;
  /**
   * Lanes to try, in order, when the callee has no instance in this lane. Ends with `base` unless
   * the lane is strict. Chains are not transitive.
   */
  readonly fallback: readonly string[];
  /** When true, the chain never reaches base: exhausting it is an error for the caller. */
  readonly strict: boolean;
}

/** A lane group: the entry apps that decide lanes and the member apps that carry them. */
export interface LaneGroup {
  readonly name: string;
  readonly entries: readonly string[];
  readonly apps: readonly string[];
}

/** Lane labels for an app's workloads (OpenSergo WorkloadLabelRule). */
export interface WorkloadLabel {
  readonly app: string;
  readonly labels: readonly string[];
}

/** The whole compiled rule set. */
export interface LaneRuleSet {
  readonly lanes: readonly Lane[];
  readonly groups: readonly LaneGroup[];
  readonly workloads: readonly WorkloadLabel[];
}

/** One problem found in rule input. */
export interface RuleIssue {
  /** Where: `lanes[1].match[0].operator`, or `documents[0].spec.match[1].condition` for YAML. */
  readonly path: string;
  /** What is wrong and what to do about it. */
  readonly message: string;
  readonly severity: 'error' | 'warning';
}
