import { BASE_LANE, ErrorCode, GraylaneError, runInSlices } from '@graylane/core';
import { rankRules } from '@graylane/rules';
import type { Condition, Lane, LaneRuleSet, Percentage, RankedRule } from '@graylane/rules';
import type { RequestView } from './request-view.js';
import { stickyBucket } from './hash.js';
import { compileCondition } from './compile/condition.js';
import type { CompileContext } from './compile/condition.js';
import type { Test } from './compile/predicate.js';
import { fieldReader } from './compile/field.js';
import type { Attribute } from './compile/field.js';
import { Memo } from './compile/memo.js';
import { RegexTable } from './compile/regex.js';
import type { RuleRegex } from './compile/regex.js';
import { generateFirstMatch, mayFit } from './compile/codegen.js';
import { CandidateIndex, RuleKeys } from './compile/candidates.js';
import { Frame, fieldValue, nextRequest, randomBucket } from './compile/state.js';

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
  /**
   * The matcher this one replaces (a reload), so that a reload compiles only what changed: a lane
   * that is the same object as one of the rules it was compiled from (as `parseRulesInWorker` with
   * `previous` gives them) keeps its compiled tests, when `attributes` and `random` are the same
   * too; regexes it compiled are reused where the new rules have the same pattern. Decisions do
   * not depend on it. The new matcher keeps only its own rules' regexes and tests.
   */
  readonly previous?: LaneMatcher | undefined;
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

/**
 * Decides a request's lane. Compiled once from a rule set; `match` parses nothing, reads each
 * distinct field of the request at most once and allocates nothing (a view may parse lazily).
 * Evaluation is synchronous; a matcher may be used by any number of concurrent requests, and an
 * attribute may even call the matcher that is evaluating it.
 */
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
  return compileWith(rules, options, true).matcher;
}

/** A rule's compiled tests: its condition, and its condition with its lane's percentage. */
interface CompiledRule {
  readonly condition: Test;
  readonly test: Test;
}

/** What a matcher's compile leaves for the compiles that replace it (`previous`). */
interface Lineage {
  /** The regexes it compiled, by pattern. */
  readonly regexes: ReadonlyMap<string, RuleRegex | string>;
  /** The slots its tests were compiled against, and what else they depend on. */
  readonly memo: Memo;
  readonly attributes: CompileMatcherOptions['attributes'];
  readonly random: CompileMatcherOptions['random'];
  /** Each lane's compiled rules, by rule index (the implicit match-everything rule at 0). */
  readonly lanes: ReadonlyMap<Lane, readonly CompiledRule[]>;
  /** The memo's slots after the last compile that started afresh. */
  readonly baseline: number;
}

const lineageOf = new WeakMap<LaneMatcher, Lineage>();

/**
 * Rules from which a rule set that fits one generated function is matched through its candidate
 * index instead, when the index tries a request against at most a quarter of them.
 */
const INDEX_OVER_CODEGEN = 32;

/**
 * Whether a compile with `previous` continues its lineage (keeps its tests). Slots are never freed
 * within a lineage (a test kept may use any of them), so a lineage ends once its slots pass twice
 * those of its fresh start, plus 256: without a bound a frame would grow with every reload that
 * brings new fields or shared predicates. Tests depend on `attributes` and `random` too.
 */
function continues(lineage: Lineage | undefined, options: CompileMatcherOptions): lineage is Lineage {
  return (
    lineage !== undefined &&
    lineage.attributes === options.attributes &&
    lineage.random === options.random &&
    lineage.memo.slots <= 2 * lineage.baseline + 256
  );
}

/** Options of {@link compileMatcherInSlices}. */
export interface CompileInSlicesOptions {
  /**
   * Longest stretch of compiling between two yields to the event loop, in ms. Default 0.5: a
   * request waits for the slice it arrives in and for any collection that falls within it, so a
   * shorter slice shortens the longest wait (see `bench/probes/live-alloc-floor.mjs`). A yield
   * (`setImmediate`) costs about 1 µs on an idle loop.
   */
  readonly sliceMs?: number;
  /** Stops the compile at the next slice: the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/**
 * {@link compileMatcher} for a serving process: the same matcher, compiled in slices of at most
 * `sliceMs` between which the event loop runs (`setImmediate`), so that compiling ten thousand
 * lanes never holds requests up. Nothing is swapped by it: the caller gets the matcher once whole.
 *
 * @throws GraylaneError `GRAYLANE_ERR_RULE_INVALID` as {@link compileMatcher} (the promise rejects).
 */
export async function compileMatcherInSlices(
  rules: LaneRuleSet,
  options: CompileMatcherOptions = {},
  slices: CompileInSlicesOptions = {},
): Promise<LaneMatcher> {
  const compiled = await runInSlices(compileSteps(rules, options, true), { sliceMs: slices.sliceMs ?? 0.5, signal: slices.signal });
  return compiled.matcher;
}

/** What {@link compileWith} gives: the matcher, its generated source, and how many of its rules' tests a previous compile made. */
interface Compiled {
  readonly matcher: LaneMatcher;
  readonly source: string | undefined;
  readonly kept: number;
}

/**
 * {@link compileMatcher}, choosing the evaluator: with `generate`, `match` runs one generated
 * function (see `compile/codegen.ts`); without it, or where the runtime forbids code generation,
 * it runs the compiled closures, on the candidates a {@link CandidateIndex} finds when `index`
 * and some rule has a key, else on every rule in turn. `explain` always tries every rule.
 * Internal: tests run each.
 */
export function compileWith(
  rules: LaneRuleSet,
  options: CompileMatcherOptions,
  generate: boolean,
  index = true,
): Compiled {
  const steps = compileSteps(rules, options, generate, index);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** Rules compiled one step at a time (a yield after every bounded piece of work), for {@link compileMatcherInSlices}. */
function* compileSteps(
  rules: LaneRuleSet,
  options: CompileMatcherOptions,
  generate: boolean,
  index = true,
): Generator<void, Compiled, void> {
  const previous = options.previous && lineageOf.get(options.previous);
  const lineage = continues(previous, options) ? previous : undefined;
  const earlier = lineage?.lanes;
  const memo = new Memo(lineage?.memo);
  const regexes = new RegexTable(previous?.regexes);
  const context: CompileContext = { attributes: options.attributes ?? {}, memo, regexes, issues: [] };
  const ranked = (yield* rankRules(rules)).filter(
    ({ entries }) => options.entry === undefined || entries === undefined || entries.includes(options.entry),
  );
  yield;
  for (let i = 0; i < ranked.length; i++) {
    const { lane, rule } = ranked[i]!;
    if (!earlier?.has(lane)) memo.count(rule.condition);
    if (i % 64 === 63) yield;
  }
  const compiledLanes = new Map<Lane, readonly CompiledRule[]>();
  /** The lanes whose compiled rules this compile made (the others' are a previous compile's, never changed). */
  const own = new Set<Lane>();
  const conditions: Test[] = [];
  const tests: Test[] = [];
  const lanes: (string | undefined)[] = [];
  // The closures' evaluator: the candidates of an index, when some rule has a key. Of a rule set
  // that may fit one generated function, built only when it has enough rules for the index to win.
  const fits = generate && mayFit(ranked.length);
  const keys = index && (!fits || ranked.length >= INDEX_OVER_CODEGEN) ? new RuleKeys(memo) : undefined;
  let kept = ranked.length;
  for (let i = 0; i < ranked.length; i++) {
    const { lane, rule, laneIndex, ruleIndex } = ranked[i]!;
    const index = ruleIndex < 0 ? 0 : ruleIndex;
    let compiled = compiledLanes.get(lane) ?? earlier?.get(lane);
    let one = compiled?.[index];
    if (one === undefined) {
      const path = `lanes[${laneIndex}]`;
      const condition = compileCondition(rule.condition, `${path}.match[${ruleIndex}]`, context);
      const admit = lane.percentage && compilePercentage(lane.percentage, `${path}.percentage`, context);
      one = { condition, test: admit ? admitted(condition, admit) : condition };
      const mine: CompiledRule[] = own.has(lane) ? (compiled as CompiledRule[]) : [...(compiled ?? [])];
      mine[index] = one;
      own.add(lane);
      kept--;
      compiled = mine;
    }
    compiledLanes.set(lane, compiled!);
    conditions.push(one.condition);
    tests.push(one.test);
    lanes.push(lane.tag === BASE_LANE ? undefined : lane.tag);
    keys?.push(rule.condition);
    // A rule compiled can cost a regex compile (about 0.2 ms on RE2JS): one per step; kept ones are cheap.
    if (own.has(lane) || i % 256 === 255) yield;
  }
  const { issues } = context;
  if (issues.length > 0) {
    const summary = issues.map((issue) => `  ${issue.path}: ${issue.message}`).join('\n');
    throw new GraylaneError(ErrorCode.RULE_INVALID, `lane rules cannot be compiled:\n${summary}`, { details: { issues } });
  }
  memo.compiled();
  const random = options.random ?? Math.random;
  const indexed = keys && (yield* CandidateIndex.build(keys));
  // The generated function tries every rule: where the index leaves a request a few, it is faster
  // (scratch, 40 lanes of two keyed rules: about 100 ns against 225 to 300).
  const prunes = indexed !== undefined && indexed.mostTried * 4 <= ranked.length;
  // Asked only when they may fit: listing 20,000 rules for it to refuse makes an object per rule.
  const generated =
    fits && !prunes
      ? generateFirstMatch(
          ranked.map(({ lane, rule }) => ({ condition: rule.condition, percentage: lane.percentage })),
          context.attributes,
          random,
          regexes,
        )
      : undefined;
  const matcher = assemble({
    ranked,
    conditions,
    tests,
    lanes,
    readers: memo.readers,
    predicates: memo.predicates,
    random,
    first: generated?.first,
    candidates: generated ? undefined : indexed,
  });
  lineageOf.set(matcher, {
    regexes: regexes.compiled,
    memo,
    attributes: options.attributes,
    random: options.random,
    lanes: compiledLanes,
    baseline: lineage ? lineage.baseline : memo.slots,
  });
  return { matcher, source: generated?.source, kept };
}

/** A rule's condition and its lane's percentage, as one test. */
function admitted(condition: Test, admit: Test): Test {
  return (req, frame) => condition(req, frame) && admit(req, frame);
}

/** What a matcher evaluates with: {@link assemble}'s parts, each rule's at its index in precedence order. */
interface MatcherParts {
  readonly ranked: readonly RankedRule[];
  readonly conditions: readonly Test[];
  readonly tests: readonly Test[];
  /** The lane each rule decides (`undefined` for base). */
  readonly lanes: readonly (string | undefined)[];
  readonly readers: Frame['readers'];
  readonly predicates: number;
  readonly random: () => number;
  /** The generated function, when the rules have one. */
  readonly first: ((req: RequestView) => number) | undefined;
  /** The candidate index the closures are tried through, when there is no generated function. */
  readonly candidates: CandidateIndex | undefined;
}

/**
 * The matcher over compiled parts. Its functions close over these parts and nothing else: made
 * inside the compile, they would hold the compile's whole scope, and with it the options' `previous`
 * matcher, so that every matcher would keep the one it replaced alive, and that one its own, a
 * reload at a time (65 MB a 10,000-lane replacement, measured).
 */
function assemble(parts: MatcherParts): LaneMatcher {
  const { ranked, conditions, tests, lanes, readers, predicates, random, first, candidates } = parts;
  const count = tests.length;
  const cursors = candidates?.cursors ?? 0;
  // One frame per call depth: depth 0 serves every top-level request (evaluation is synchronous,
  // so requests never overlap there); deeper frames serve an attribute that calls this matcher.
  const frames: Frame[] = [new Frame(readers, predicates, random, cursors)];
  let depth = 0;
  const enter = (): Frame => {
    const frame = (frames[depth] ??= new Frame(readers, predicates, random, cursors));
    depth++;
    nextRequest(frame);
    return frame;
  };

  function explain(req: RequestView): MatchExplanation {
    const frame = enter();
    try {
      const notAdmitted: ExplainedRule[] = [];
      for (let i = 0; i < count; i++) {
        if (tests[i]!(req, frame)) return { lane: lanes[i], rule: explainedRule(ranked[i]!), notAdmitted };
        if (conditions[i]!(req, frame)) notAdmitted.push(explainedRule(ranked[i]!));
      }
      return { lane: undefined, rule: undefined, notAdmitted };
    } finally {
      depth--;
    }
  }

  if (first) {
    return {
      match(req) {
        const i = first(req);
        return i < 0 ? undefined : lanes[i];
      },
      explain,
    };
  }
  return {
    match: candidates
      ? (req) => {
          const frame = enter();
          try {
            const i = candidates.first(req, frame, tests);
            return i < 0 ? undefined : lanes[i];
          } finally {
            depth--;
          }
        }
      : (req) => {
          const frame = enter();
          try {
            for (let i = 0; i < count; i++) if (tests[i]!(req, frame)) return lanes[i];
            return undefined;
          } finally {
            depth--;
          }
        },
    explain,
  };
}

/** A rule as {@link MatchExplanation} names it; made when asked, so that compiling allocates none. */
function explainedRule({ lane, rule, laneIndex, ruleIndex }: RankedRule): ExplainedRule {
  return { tag: lane.tag, laneIndex, ruleIndex, priority: rule.priority, condition: rule.condition };
}

function compilePercentage(percentage: Percentage, path: string, context: CompileContext): Test {
  const { value, key } = percentage;
  if (key === undefined) return (_req, frame) => randomBucket(frame) < value;
  const raw = fieldReader(key, context.attributes);
  if (typeof raw === 'string') {
    context.issues.push({ path: `${path}.key.name`, message: raw, severity: 'error' });
    return () => false;
  }
  const slot = context.memo.field(key, raw);
  return (req, frame) => {
    const k = fieldValue(req, frame, slot);
    return k !== undefined && stickyBucket(k) < value;
  };
}
