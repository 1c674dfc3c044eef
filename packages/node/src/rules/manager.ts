import { createHash } from 'node:crypto';
import { diag, metrics } from '@opentelemetry/api';
import type { ObservableResult } from '@opentelemetry/api';
import { ErrorCode, GraylaneError, backoffDelay, isGraylaneError, sleep, systemClock } from '@graylane/core';
import type { Clock } from '@graylane/core';
import type { CompileMatcherOptions, LaneMatcher } from '@graylane/matcher';
import type { FallbackPolicy, LaneRuleSet, ParsedRulesWithPolicy, RuleIssue } from '@graylane/rules';
import { loadRuleModules, loadedRuleModules } from '../lazy.js';
import type { RuleSource } from './source.js';

/** Options of {@link createRulesManager}. */
export interface RulesManagerOptions {
  /**
   * The app or gateway the matcher runs in: rules scoped to other entries do not apply (see
   * `compileMatcher` in `@graylane/matcher`). Default: every rule applies.
   */
  readonly entry?: string | undefined;
  /** Functions behind `type: attribute` conditions, by name (see `compileMatcher`). */
  readonly attributes?: CompileMatcherOptions['attributes'] | undefined;
  /** How long {@link RulesManager.ready} waits for the first rules. Default 5000 ms. */
  readonly loadTimeoutMs?: number | undefined;
  /**
   * What {@link RulesManager.ready} does when there are no rules at start: the source has none, or
   * could not be read within `loadTimeoutMs`.
   * - `fail` (default): reject with `GRAYLANE_ERR_NOT_READY`, so the service never reports ready
   *   while it would route every request to base.
   * - `base`: resolve without rules; requests that carry no lane go to base until rules arrive.
   *
   * Invalid rules at start always reject, with `GRAYLANE_ERR_RULE_INVALID`.
   */
  readonly onMissing?: 'fail' | 'base' | undefined;
  /**
   * Applied to every rule set before it is compiled, and re-applied (as a new revision) when it
   * changes: the lane objects of a lane store (`followLanes`), which disable lanes or bring their
   * entry rules. @experimental
   */
  readonly overlay?: RulesOverlay | undefined;
  /**
   * The clock of the load timeout and of the retries of failed reads (backoff 200 ms doubling to
   * 2 s). Default: the real one (`systemClock` of `@graylane/core`); tests pass a fake one.
   */
  readonly clock?: Clock | undefined;
}

/** Something that rewrites the rules in force and says when it would rewrite them differently. @experimental */
export interface RulesOverlay {
  apply(rules: LaneRuleSet): LaneRuleSet;
  onChange(listener: () => void): () => void;
}

/**
 * - `loading`: no rules read yet.
 * - `ok`: the rules in force are the source's current content.
 * - `degraded`: the source's current content was rejected; the last good rules (if any) stay in force.
 * - `missing`: the source has no rules (never had, or they were deleted); the last good rules (if any) stay in force.
 */
export type RulesState = 'loading' | 'ok' | 'degraded' | 'missing';

/** Why the latest content of a source was rejected, or could not be read. JSON-serialisable. */
export interface RulesError {
  /** A graylane error code (`GRAYLANE_ERR_RULE_INVALID`, `GRAYLANE_ERR_NACOS_TIMEOUT`, ...) or a system one (`EACCES`). */
  readonly code: string;
  readonly message: string;
  /** Every problem found in the rules, with its path; empty when the source could not be read. */
  readonly issues: readonly RuleIssue[];
  /** When it happened (ISO 8601). */
  readonly at: string;
}

/** What {@link RulesManager.status} reports: JSON-serialisable, for a health or admin endpoint. */
export interface RulesStatus {
  readonly state: RulesState;
  readonly source: { readonly kind: string; readonly location: string };
  /** Revision of the rules in force: 1 for the first applied, +1 for each update; 0 for none. */
  readonly revision: number;
  /** When the rules in force were applied (ISO 8601); absent while none are. */
  readonly loadedAt?: string;
  /** MD5 of the text of the rules in force, as the Nacos console shows it; absent while none are. */
  readonly md5?: string;
  /** The latest error, kept after a recovery for diagnosis (compare its `at` with `loadedAt`). */
  readonly lastError?: RulesError;
}

/** One applied rule set: what {@link RulesManager.onChange} listeners receive. */
export interface AppliedRules {
  readonly revision: number;
  readonly rules: LaneRuleSet;
  /** The compiled matcher; give it to the gateway or entry middleware (`gateway.setMatcher`). */
  readonly matcher: LaneMatcher;
  /** The fallback chains and strict lanes, for `router.setPolicy`. */
  readonly policy: FallbackPolicy;
  /** Problems that did not stop the rules (a shadowed rule, ...). */
  readonly warnings: readonly RuleIssue[];
  readonly md5: string;
  /** When they were applied (ISO 8601). */
  readonly loadedAt: string;
}

/** Lane rules from a {@link RuleSource}, kept current; see {@link createRulesManager}. */
export interface RulesManager {
  readonly source: RuleSource;
  /**
   * Resolves once the first rules are applied, or, with `onMissing: 'base'`, once the source is
   * known to have none or `loadTimeoutMs` has passed. Rejects with `GRAYLANE_ERR_RULE_INVALID` when
   * the first rules are invalid, `GRAYLANE_ERR_NOT_READY` when there are none (with `onMissing:
   * 'fail'`), `GRAYLANE_ERR_CLOSED` when closed first.
   */
  ready(): Promise<void>;
  /** The rules in force, or `undefined` when none have been applied. */
  current(): AppliedRules | undefined;
  /** The matcher of the rules in force; `undefined` (every request without a lane is base) when none. */
  matcher(): LaneMatcher | undefined;
  status(): RulesStatus;
  /** Calls `listener` after every applied update (not for the rules already in force). Returns a function that removes it. */
  onChange(listener: (applied: AppliedRules) => void): () => void;
  /** Stops following the source and closes it. Idempotent. */
  close(): Promise<void>;
}

/** What {@link RulesManager} counts in `graylane.rules.updates`. */
type Outcome = 'applied' | 'rejected' | 'missing';

const DEFAULT_LOAD_TIMEOUT_MS = 5000;
const RETRY_FIRST_MS = 200;
const RETRY_MAX_MS = 2000;

/**
 * Loads lane rules from `source`, compiles them (`parseRules`, `compileMatcher`,
 * `fallbackPolicy`) and follows the source: every change is parsed and compiled first, then
 * swapped in whole, and listeners are told. A content longer than `PARSE_IN_WORKER_CHARS`
 * (128 Ki characters, about 1,000 lanes) is built off the request path: parsed on the rules
 * worker (a child process) and compiled in slices of about 0.5 ms between which requests are served, reusing
 * the regexes of the rules in force; the rules in force serve until it is whole, and a newer
 * content replaces a build still in progress (only the newest is applied). A reload receives and
 * compiles only the lanes that changed; at 10,000 lanes with 1 % changed it holds the loop for 5 to
 * 9 ms at its longest on the benchmark machine, a first load for 21 to 28 ms (`rules.reload_block_ms`,
 * `rules.load_block_ms`, docs/benchmarks.md). An invalid
 * change is rejected and the last good rules stay in force; so do they when the source's rules are
 * deleted (publish an empty rule set to turn every lane off). Rejections and deletions are logged
 * through `diag`, shown by {@link RulesManager.status}, and counted in the
 * `graylane.rules.updates` metric (attribute `outcome`: `applied`, `rejected`, `missing`); the
 * `graylane.rules.revision` gauge reports the revision in force. Metrics go to the global
 * MeterProvider of `@opentelemetry/api`, if any.
 *
 * @example
 * ```ts
 * const rules = createRulesManager(fileRuleSource('rules.yaml'));
 * await rules.ready();
 * const gateway = createGateway({ router, upstream: 'a', matcher: rules.matcher() });
 * rules.onChange(({ matcher }) => gateway.setMatcher(matcher));
 * ```
 *
 * @throws GraylaneError `GRAYLANE_ERR_CONFIG_INVALID` for invalid options.
 */
export function createRulesManager(source: RuleSource, options: RulesManagerOptions = {}): RulesManager {
  const loadTimeoutMs = options.loadTimeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS;
  if (!(Number.isFinite(loadTimeoutMs) && loadTimeoutMs > 0)) {
    throw invalidOption('loadTimeoutMs', loadTimeoutMs, 'a positive number of milliseconds');
  }
  const onMissing = options.onMissing ?? 'fail';
  if (onMissing !== 'fail' && onMissing !== 'base') throw invalidOption('onMissing', onMissing, "'fail' or 'base'");
  const compileOptions: CompileMatcherOptions = { entry: options.entry, attributes: options.attributes };
  const where = `${source.kind} ${source.location}`;

  let applied: AppliedRules | undefined;
  /** The text of the rules in force: a content equal to it is restored, not rebuilt. */
  let appliedText: string | undefined;
  let state: RulesState = 'loading';
  let lastError: RulesError | undefined;
  /** The last content handled, applied or not; repeats of it are ignored. */
  let latest: { readonly text: string | undefined } | undefined;
  let loadFailure: unknown;
  let closing: Promise<void> | undefined;
  /** The build of a large content in progress, if any. */
  let building: AbortController | undefined;
  /**
   * The worker's parse of the rules in force, when they were built off the request path: the next
   * build's `previous`, so that the worker sends, and the compile redoes, only the lanes that changed.
   */
  let parsedInForce: ParsedRulesWithPolicy | undefined;
  const listeners = new Set<(applied: AppliedRules) => void>();
  const telemetry = rulesTelemetry(source.kind, () => applied?.revision ?? 0);

  const clock = options.clock ?? systemClock;
  const timer = clock.setTimeout(onTimeout, loadTimeoutMs);
  /** Settles `ready` once; `undefined` afterwards. */
  let settleReady: ((error?: unknown) => void) | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    settleReady = (error) => {
      settleReady = undefined;
      clock.clearTimeout(timer);
      if (error === undefined) resolve();
      else reject(error);
    };
  });
  // Nobody may await ready(); its rejection must not become an unhandled one.
  ready.catch(() => undefined);

  // The rule model and matcher (YAML, zod) load with the first rules manager; until they have,
  // contents wait for them, in order.
  const modules = loadRuleModules();

  function update(text: string | undefined): void {
    if (!loadedRuleModules()) {
      void modules.then(() => update(text), () => undefined);
      return;
    }
    if (closing || (latest && latest.text === text)) return;
    latest = { text };
    supersede();
    if (text === undefined) return noRules();
    if (applied && text === appliedText) return restore(applied);
    build(text);
  }

  /** Parses and compiles `text`, and applies it unless a newer content came first. */
  function build(text: string): void {
    const { rules: model } = loadedRuleModules()!; // loaded: update() waits for them
    if (text.length > model.PARSE_IN_WORKER_CHARS) {
      void buildOffThread(text);
      return;
    }
    let next: AppliedRules;
    try {
      next = compile(text, digest(text));
    } catch (error) {
      return reject(error);
    }
    parsedInForce = undefined;
    apply(next, text);
  }

  function compile(text: string, md5: string): AppliedRules {
    const { rules: model, matcher: matching } = loadedRuleModules()!;
    const parsed = model.parseRules(text, { source: where });
    const rules = options.overlay ? options.overlay.apply(parsed.rules) : parsed.rules;
    const matcher = matching.compileMatcher(rules, { ...compileOptions, previous: applied?.matcher });
    return applicable(rules, matcher, model.fallbackPolicy(rules, applied?.policy), parsed.warnings, md5);
  }

  /**
   * {@link compile} for a large text, off the request path: parsed on the rules worker, compiled in
   * slices between which requests are served, then swapped in whole as one revision. A newer
   * content (or close) aborts it; the rules in force serve until it is done.
   */
  async function buildOffThread(text: string): Promise<void> {
    const { rules: model, matcher: matching } = loadedRuleModules()!;
    const controller = new AbortController();
    const { signal } = controller;
    building = controller;
    try {
      const parsed = await model.parseRulesInWorker(text, { source: where, signal, previous: parsedInForce });
      const rules = options.overlay ? options.overlay.apply(parsed.rules) : parsed.rules;
      const matcher = await matching.compileMatcherInSlices(rules, { ...compileOptions, previous: applied?.matcher }, { signal });
      const policy = rules === parsed.rules ? parsed.policy : model.fallbackPolicy(rules, applied?.policy);
      if (signal.aborted) return;
      building = undefined;
      parsedInForce = parsed;
      apply(applicable(rules, matcher, policy, parsed.warnings, parsed.md5), text);
    } catch (error) {
      if (signal.aborted) return; // superseded: the newer content decides
      building = undefined;
      reject(error);
    }
  }

  /** Stops a build in progress: a newer content, or close, decides instead. */
  function supersede(): void {
    building?.abort(new GraylaneError(ErrorCode.CLOSED, `a newer content of ${where} replaced this one`));
    building = undefined;
  }

  function applicable(rules: LaneRuleSet, matcher: LaneMatcher, policy: FallbackPolicy, warnings: readonly RuleIssue[], md5: string): AppliedRules {
    const revision = (applied?.revision ?? 0) + 1;
    return { revision, rules, matcher, policy, warnings, md5, loadedAt: new Date().toISOString() };
  }

  function apply(next: AppliedRules, text: string): void {
    applied = next;
    appliedText = text;
    state = 'ok';
    telemetry.count('applied');
    const lanes = next.rules.lanes.length;
    diag.info(`graylane: applied rules revision ${next.revision} from ${where} (${lanes} lane${lanes === 1 ? '' : 's'})`);
    for (const warning of next.warnings) diag.warn(`graylane: rules from ${where}: ${warning.path || '(document)'}: ${warning.message}`);
    settleReady?.();
    for (const listener of [...listeners]) {
      try {
        listener(next);
      } catch (error) {
        diag.error(`graylane: a listener of the rules from ${where} threw`, error);
      }
    }
  }

  /** The source is back to the content in force (after a rejection or a deletion): nothing to swap. */
  function restore(current: AppliedRules): void {
    state = 'ok';
    telemetry.count('applied');
    diag.info(`graylane: the rules at ${where} are back to revision ${current.revision}`);
  }

  function reject(error: unknown): void {
    lastError = toRulesError(error);
    state = 'degraded';
    telemetry.count('rejected');
    const kept = applied ? `revision ${applied.revision} stays in force` : 'no rules are in force';
    const problems = lastError.issues.filter((issue) => issue.severity === 'error');
    const detail = problems.length > 0 ? problems.map((issue) => `\n  ${issue.path || '(document)'}: ${issue.message}`).join('') : ` ${lastError.message}`;
    diag.error(`graylane: rejected the rules from ${where}; ${kept}:${detail}`);
    settleReady?.(error);
  }

  function noRules(): void {
    state = 'missing';
    telemetry.count('missing');
    if (applied) {
      diag.warn(`graylane: the rules at ${where} are gone; revision ${applied.revision} stays in force (publish an empty rule set to turn every lane off)`);
    } else if (onMissing === 'base') {
      diag.warn(`graylane: there are no rules at ${where}; requests without a lane go to base until rules are published`);
    }
    if (onMissing === 'base') settleReady?.();
    else settleReady?.(notReady(`there are no rules at ${where}`));
  }

  function onTimeout(): void {
    const why = `no rules from ${where} within ${loadTimeoutMs} ms${lastError ? ` (last error: ${lastError.message})` : ''}`;
    if (onMissing === 'base') {
      diag.warn(`graylane: ${why}; requests without a lane go to base until rules arrive`);
      settleReady?.();
    } else {
      settleReady?.(notReady(why, loadFailure));
    }
  }

  function notReady(message: string, cause?: unknown): GraylaneError {
    return new GraylaneError(ErrorCode.NOT_READY, message, {
      details: { source: { kind: source.kind, location: source.location }, timeoutMs: loadTimeoutMs },
      cause,
    });
  }

  /** Reads the source until a first content is handled; later contents come from the watch. */
  async function loadFirst(): Promise<void> {
    try {
      await modules;
      await source.opened?.(); // a source that cannot be made (invalid client options) never will be
    } catch (error) {
      lastError = toRulesError(error);
      diag.error(`graylane: the rule source ${where} cannot be used: ${lastError.message}`);
      settleReady?.(error);
      return;
    }
    for (let attempt = 0; settleReady && !closing; attempt++) {
      let text: string | undefined;
      try {
        text = await source.load();
      } catch (error) {
        loadFailure = error;
        lastError = toRulesError(error);
        diag.warn(`graylane: reading the rules from ${where} failed (${lastError.message}); retrying`);
        await sleep(backoffDelay(attempt, { firstMs: RETRY_FIRST_MS, maxMs: RETRY_MAX_MS }), clock);
        continue;
      }
      update(text);
      return;
    }
  }

  /** The overlay changed: the text in force is compiled again, as a new revision. */
  function reapply(): void {
    if (closing || !applied || latest?.text === undefined) return;
    supersede();
    build(latest.text);
  }

  const unwatch = source.watch(update);
  const unoverlay = options.overlay?.onChange(reapply);
  void loadFirst();

  return {
    source,
    ready: () => ready,
    current: () => applied,
    matcher: () => applied?.matcher,
    status() {
      return {
        state,
        source: { kind: source.kind, location: source.location },
        revision: applied?.revision ?? 0,
        ...(applied ? { loadedAt: applied.loadedAt, md5: applied.md5 } : {}),
        ...(lastError ? { lastError } : {}),
      };
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      closing ??= (async () => {
        clock.clearTimeout(timer);
        supersede();
        unwatch();
        unoverlay?.();
        telemetry.close();
        listeners.clear();
        settleReady?.(new GraylaneError(ErrorCode.CLOSED, `the rules manager of ${where} was closed before rules loaded`));
        await source.close?.();
      })();
      return closing;
    },
  };
}

/** The `graylane.rules.updates` counter and `graylane.rules.revision` gauge of one manager. */
function rulesTelemetry(kind: string, revision: () => number): { count(outcome: Outcome): void; close(): void } {
  const meter = metrics.getMeter('graylane');
  const updates = meter.createCounter('graylane.rules.updates', {
    description: 'Rule contents read from a rule source, by outcome: applied, rejected (the last good rules stay), missing (the source has no rules)',
  });
  const gauge = meter.createObservableGauge('graylane.rules.revision', {
    description: 'Revision of the lane rules in force; 0 while none are',
  });
  const observe = (result: ObservableResult) => result.observe(revision(), { source: kind });
  gauge.addCallback(observe);
  return {
    count: (outcome) => updates.add(1, { outcome, source: kind }),
    close: () => gauge.removeCallback(observe),
  };
}

function toRulesError(error: unknown): RulesError {
  const details = isGraylaneError(error) ? error.details : {};
  const code = (error as { code?: unknown } | undefined)?.code;
  return {
    code: typeof code === 'string' ? code : 'UNKNOWN',
    message: error instanceof Error ? error.message : String(error),
    issues: Array.isArray(details['issues']) ? (details['issues'] as RuleIssue[]) : [],
    at: new Date().toISOString(),
  };
}

function digest(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

function invalidOption(path: string, value: unknown, expected: string): GraylaneError {
  return new GraylaneError(ErrorCode.CONFIG_INVALID, `createRulesManager: \`${path}\` must be ${expected}, got ${String(value)}`, {
    details: { path, value },
  });
}
