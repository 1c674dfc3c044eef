import { z } from 'zod';
import { ErrorCode, GraylaneError, parseLane } from '@graylane/core';
import { parseRules } from '../parse.js';
import type { Lane, LaneRuleSet, RuleIssue } from './types.js';

/** The `kind` of a lane store document. */
export const LANE_STORE_KIND = 'graylane.io/v1alpha1/Lanes';

/**
 * A lane as a managed object: what `graylane lane create` writes and every service follows.
 * JSON-serialisable; times are ISO 8601.
 * @experimental
 */
export interface LaneObject {
  /** The lane tag (`gray`, `feature-x`). */
  readonly tag: string;
  /**
   * The lane's entry rule: rule text in any form `parseRules` reads, whose lanes tagged {@link tag}
   * decide which requests the entry colors into it. Empty: the entry keeps the rules it has.
   */
  readonly rule: string;
  /** The services the lane deploys (has gray instances of); `status` calls it complete when each has one. */
  readonly services: readonly string[];
  /** The switch: a disabled lane routes like base at every hop, and the entry colors nothing into it. */
  readonly enabled: boolean;
  /** After this time the lane acts as disabled. */
  readonly expiresAt?: string | undefined;
  /** Set by `graylane lane promote`. */
  readonly promotedAt?: string | undefined;
  /** Who changed it last (user@host), and when. */
  readonly changedBy: string;
  readonly changedAt: string;
}

/** The document that holds every lane object (a Nacos config, or a file). @experimental */
export interface LaneStore {
  readonly kind: typeof LANE_STORE_KIND;
  readonly lanes: readonly LaneObject[];
}

const iso = z.string().refine((text) => !Number.isNaN(Date.parse(text)), { message: 'expected an ISO 8601 time' });
const laneObjectSchema = z.strictObject({
  tag: z.string().refine((tag) => typeof parseLane(tag) === 'string', { message: 'not a lane name (1-63 of A-Z a-z 0-9 . _ -), and not base' }),
  rule: z.string().default(''),
  services: z.array(z.string().min(1)).default([]),
  enabled: z.boolean().default(true),
  expiresAt: iso.optional(),
  promotedAt: iso.optional(),
  changedBy: z.string().default(''),
  changedAt: iso,
});
const storeSchema = z.strictObject({
  kind: z.literal(LANE_STORE_KIND),
  lanes: z.array(laneObjectSchema),
});

/** An empty lane store. */
export function emptyLaneStore(): LaneStore {
  return { kind: LANE_STORE_KIND, lanes: [] };
}

/**
 * Parses a lane store document (JSON); `undefined` or blank text is an empty store. Each lane's
 * `rule` is checked with `parseRules`.
 *
 * @throws GraylaneError `GRAYLANE_ERR_RULE_INVALID` listing every problem in `details.issues`.
 * @experimental
 */
export function parseLaneStore(text: string | undefined, source = 'lane store'): LaneStore {
  if (text === undefined || text.trim() === '') return emptyLaneStore();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalid(source, [{ path: '', message: `not JSON: ${(error as Error).message}`, severity: 'error' }]);
  }
  const result = storeSchema.safeParse(value);
  if (!result.success) {
    throw invalid(
      source,
      result.error.issues.map((issue) => ({ path: issue.path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)).join('').replace(/^\./, ''), message: issue.message, severity: 'error' as const })),
    );
  }
  const issues: RuleIssue[] = [];
  const seen = new Set<string>();
  result.data.lanes.forEach((lane, i) => {
    if (seen.has(lane.tag)) issues.push({ path: `lanes[${i}].tag`, message: `lane ${lane.tag} is listed twice`, severity: 'error' });
    seen.add(lane.tag);
    const problem = ruleProblem(lane.rule, lane.tag);
    if (problem) issues.push({ path: `lanes[${i}].rule`, message: problem, severity: 'error' });
  });
  if (issues.length > 0) throw invalid(source, issues);
  return result.data as LaneStore;
}

/** The store as the text written to the rule store: stable JSON, two-space indented. @experimental */
export function serializeLaneStore(store: LaneStore): string {
  return `${JSON.stringify({ kind: LANE_STORE_KIND, lanes: [...store.lanes].sort((x, y) => (x.tag < y.tag ? -1 : x.tag > y.tag ? 1 : 0)) }, null, 2)}\n`;
}

/** True while `lane` is enabled and not expired at `nowMs`. @experimental */
export function isLaneActive(lane: LaneObject, nowMs: number = Date.now()): boolean {
  return lane.enabled && (lane.expiresAt === undefined || Date.parse(lane.expiresAt) > nowMs);
}

/** The tags of the lanes of `store` that are not active at `nowMs`, and when the next active one expires. @experimental */
export function laneStoreState(store: LaneStore, nowMs: number = Date.now()): { readonly inactive: ReadonlySet<string>; readonly nextExpiryMs: number | undefined } {
  const inactive = new Set<string>();
  let nextExpiryMs: number | undefined;
  for (const lane of store.lanes) {
    if (!isLaneActive(lane, nowMs)) inactive.add(lane.tag);
    else if (lane.expiresAt !== undefined) {
      const at = Date.parse(lane.expiresAt);
      if (nextExpiryMs === undefined || at < nextExpiryMs) nextExpiryMs = at;
    }
  }
  return { inactive, nextExpiryMs };
}

/**
 * The rule set in force with the lane objects applied: an active lane object with a rule replaces
 * the lanes of its tag by those of its rule; an inactive one (disabled or expired) disables every
 * lane of its tag, so the entry colors no request into it.
 * @experimental
 */
export function applyLaneStore(rules: LaneRuleSet, store: LaneStore, nowMs: number = Date.now()): LaneRuleSet {
  if (store.lanes.length === 0) return rules;
  const objects = new Map(store.lanes.map((lane) => [lane.tag, lane]));
  const lanes: Lane[] = [];
  for (const lane of rules.lanes) {
    const object = objects.get(lane.tag);
    if (!object) lanes.push(lane);
    else if (!isLaneActive(object, nowMs)) lanes.push({ ...lane, enabled: false });
    else if (object.rule.trim() === '') lanes.push(lane);
  }
  for (const object of store.lanes) {
    if (object.rule.trim() === '' || !isLaneActive(object, nowMs)) continue;
    for (const lane of parseRules(object.rule, { source: `lane ${object.tag}` }).rules.lanes) {
      if (lane.tag === object.tag) lanes.push(lane);
    }
  }
  return { ...rules, lanes };
}

/**
 * The rule text of a one-condition expression `<type>:<name>=<value>` (`query:group=gray`,
 * `header:x-user-id=42`, `cookie:canary=1`) for lane `tag`, in the native form; `undefined` when
 * `expression` is not one.
 * @experimental
 */
export function laneRuleFromExpression(tag: string, expression: string): string | undefined {
  const match = /^(header|query|cookie):([^=\s]+)=(.*)$/.exec(expression.trim());
  if (!match) return undefined;
  const [, type, name, value] = match;
  return JSON.stringify({ lanes: [{ tag, match: [{ type, name, operator: '==', value }] }] });
}

function ruleProblem(rule: string, tag: string): string | undefined {
  if (rule.trim() === '') return undefined;
  try {
    const { rules } = parseRules(rule, { source: `lane ${tag}` });
    if (!rules.lanes.some((lane) => lane.tag === tag)) return `the rule has no lane tagged ${tag}`;
    return undefined;
  } catch (error) {
    const issues = (error as GraylaneError).details?.['issues'] as RuleIssue[] | undefined;
    return issues?.length ? issues.map((issue) => `${issue.path || '(document)'}: ${issue.message}`).join('; ') : (error as Error).message;
  }
}

function invalid(source: string, issues: RuleIssue[]): GraylaneError {
  return new GraylaneError(ErrorCode.RULE_INVALID, `invalid lane store (${source}): ${issues.map((issue) => `${issue.path || '(document)'}: ${issue.message}`).join('; ')}`, {
    details: { issues },
  });
}
