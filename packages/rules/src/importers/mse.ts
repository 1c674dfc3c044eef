import * as z from 'zod';
import { joinPath } from '../model/issues.js';
import type { IssueList, PathSegment } from '../model/issues.js';
import { compareOperatorSchema, percentageSchema, scalarSchema } from '../model/schema.js';
import type { PredicateDoc } from '../model/schema.js';
import type { Condition } from '../model/types.js';
import { strict, validate, validateFields } from '../model/validate.js';
import type { PathDisplay } from '../model/validate.js';
import { toPredicate } from '../compile/conditions.js';
import { emptyContribution } from '../compile/fragment.js';
import type { DocumentContribution, RuleFragment } from '../compile/fragment.js';

/**
 * MSE (and EDAS) lane JSON, as the consoles and OpenAPIs spell it: PascalCase at the top
 * (`Tag`, `EntryRules`), camelCase inside (`restItems`); either case is accepted everywhere.
 * `EntryRules` may be a JSON string, as the EDAS API sends it.
 */
const restItemSchema = strict({
  type: z.enum(['header', 'param', 'cookie']),
  name: z.string().min(1),
  operator: z.enum(['rawvalue', 'list', 'mod', 'deterministic_proportional_steaming_division']),
  cond: compareOperatorSchema.optional(),
  value: scalarSchema.optional(),
  nameList: z.array(scalarSchema).optional(),
  divisor: z.int().min(1).optional(),
  remainder: z.int().optional(),
  rate: percentageSchema.optional(),
});

const entryRuleSchema = strict({
  priority: z.int().optional(),
  path: z.string().optional(),
  paths: z.array(z.string()).optional(),
  condition: z.enum(['AND', 'OR']).optional(),
  restItems: z.array(restItemSchema).optional(),
  enable: z.boolean().optional(),
});

const mseLaneSchema = strict({
  id: scalarSchema.optional(),
  name: z.string().optional(),
  tag: z.string(),
  groupId: scalarSchema.optional(),
  enable: z.boolean().optional(),
  enableRules: z.boolean().optional(),
  // Checked one by one below, so that one bad rule hides nothing else.
  entryRules: z.array(z.unknown()),
});

type RestItem = z.infer<typeof restItemSchema>;

/** True when `doc` looks like an MSE lane (`Tag`/`tag`, `EntryRules`/`entryRules`) or an API answer holding lanes. */
export function isMseLane(doc: Record<string, unknown>): boolean {
  const keys = Object.keys(doc).map(lowerFirst);
  return keys.some((key) => ['tag', 'entryRules', 'entryRule'].includes(key)) || isEnvelope(keys);
}

/** Fields of an OpenAPI answer around `Data`. */
const ENVELOPE_FIELDS = ['requestId', 'success', 'code', 'message', 'errorCode', 'traceId', 'httpStatusCode', 'dynamicCode', 'dynamicMessage'];

function isEnvelope(keys: readonly string[]): boolean {
  return keys.includes('data') && keys.some((key) => key === 'requestId' || key === 'success');
}

/**
 * Lane fields of the MSE (2019-05-31 CreateOrUpdateSwimmingLane, QuerySwimmingLaneById) and EDAS
 * APIs that do not matter for lanes: accepted with a warning that names them.
 */
const LANE_WARNED: Record<string, string> = {
  regionId: 'the region',
  region: 'the region',
  namespace: 'the MSE namespace',
  acceptLanguage: 'the language of API answers',
  status: 'returned by the API',
  gmtCreate: 'returned by the API',
  gmtModified: 'returned by the API',
  userId: 'returned by the API',
  source: 'returned by the API',
  pathIndependentPercentageEnable: 'deprecated by MSE (a Java gateway setting)',
};

/** Lane fields graylane cannot honour. */
const LANE_REFUSED: Record<string, string> = {
  gatewaySwimmingLaneRouteJson: 'is an MSE cloud-native gateway route, which graylane cannot read; write its conditions as EntryRules',
  gatewaySwimmingLaneRoute: 'is an MSE cloud-native gateway route, which graylane cannot read; write its conditions as EntryRules',
};

/**
 * Imports MSE lanes from an OpenAPI answer (`{RequestId, Success, Data}`, `Data` one lane or a list),
 * else one lane.
 */
export function importMse(doc: Record<string, unknown>, path: string, issues: IssueList): DocumentContribution {
  if (!isEnvelope(Object.keys(doc).map(lowerFirst))) return importMseLane(doc, path, issues);
  let data: unknown;
  let dataKey = 'Data';
  for (const [key, value] of Object.entries(doc)) {
    const normal = lowerFirst(key);
    if (normal === 'data') {
      data = value;
      dataKey = key;
    } else if (ENVELOPE_FIELDS.includes(normal)) issues.warn(joinPath(path, [key]), 'is ignored: a field of the API answer');
    else issues.error(joinPath(path, [key]), `is not a field of an MSE API answer (${ENVELOPE_FIELDS.join(', ')}, data)`);
  }
  const success = doc.Success ?? doc.success;
  if (success === false) {
    issues.error(path, 'is an API answer that reports a failure (Success: false): export the lanes again');
    return emptyContribution();
  }
  const dataPath = joinPath(path, [dataKey]);
  const items = Array.isArray(data) ? data.map((lane, i) => ({ lane, at: joinPath(dataPath, [i]) })) : [{ lane: data, at: dataPath }];
  const out = emptyContribution();
  for (const { lane, at } of items) {
    if (typeof lane !== 'object' || lane === null || Array.isArray(lane)) {
      issues.error(at, 'expected an MSE lane (an object with Tag and EntryRules)');
      continue;
    }
    const part = importMseLane(lane, at, issues);
    out.lanes.push(...part.lanes);
  }
  return out;
}

/**
 * Imports one MSE lane. Each entry rule is one way into the lane with its own `priority`: its
 * `restItems` are combined by `condition` (AND by default) and AND'ed with the request path being
 * one of `paths` (exact match; `path` is a one-path shorthand).
 */
export function importMseLane(doc: unknown, path: string, issues: IssueList): DocumentContribution {
  const out = emptyContribution();
  const normal = normaliseKeys(doc);
  const record = normal.value as Record<string, unknown>; // importDocument passes objects only
  const written = (key: string) => joinPath(path, normal.original([key]));
  for (const key of Object.keys(record)) {
    if (Object.hasOwn(LANE_WARNED, key)) {
      issues.warn(written(key), `is ignored: ${LANE_WARNED[key]}`);
      delete record[key];
    } else if (Object.hasOwn(LANE_REFUSED, key)) {
      issues.error(written(key), `cannot be honoured: it ${LANE_REFUSED[key]}`);
      delete record[key];
    }
  }
  if (record.entryRule !== undefined) {
    // The API answers with both: `entryRule`, a JSON string, and `entryRules`, its parsed form.
    if (record.entryRules === undefined) record.entryRules = record.entryRule;
    else issues.warn(written('entryRule'), 'is ignored: the API’s string copy of EntryRules');
    delete record.entryRule;
  }
  if (typeof record.entryRules === 'string') {
    try {
      record.entryRules = normaliseKeys(JSON.parse(record.entryRules as string)).value;
    } catch (error) {
      issues.error(joinPath(path, normal.original(['entryRules'])), `is not valid JSON: ${(error as Error).message}`);
      return out;
    }
  }
  const at = (segments: readonly PathSegment[]) => joinPath(path, normal.original(segments));
  for (const duplicate of normal.duplicates) issues.error(at(duplicate), 'is given twice, in two letter cases; keep one');
  renameDatum(record.entryRules);
  const checked = validateFields(mseLaneSchema, record, path, issues, normal.original);
  if (!checked) return out;
  const lane = checked.value;
  const rules: RuleFragment[] = [];
  lane.entryRules?.forEach((input, i) => {
    const display: PathDisplay = (segments) => normal.original(['entryRules', i, ...segments]);
    const rule = validate(entryRuleSchema, input, path, issues, display);
    if (!rule || rule.enable === false || lane.enableRules === false) return;
    const condition = entryCondition(rule, ['entryRules', i], at, issues);
    if (condition) rules.push({ path: at(['entryRules', i]), priority: rule.priority, entries: undefined, condition });
  });
  if (!checked.ok || lane.tag === undefined || lane.entryRules === undefined || normal.duplicates.length > 0) return out;
  out.lanes.push({
    tag: lane.tag,
    path,
    tagPath: at(['tag']),
    declared: true,
    settings: { enabled: lane.enable },
    origins: { enabled: at(['enable']) },
    rules,
  });
  return out;
}

function entryCondition(
  rule: z.infer<typeof entryRuleSchema>,
  base: readonly PathSegment[],
  at: (segments: readonly PathSegment[]) => string,
  issues: IssueList,
): Condition | undefined {
  const items: Condition[] = [];
  let ok = true;
  (rule.restItems ?? []).forEach((item, i) => {
    const itemPath = [...base, 'restItems', i];
    const doc = restItemPredicate(item, itemPath, at, issues);
    const predicate = doc && toPredicate(doc, at(itemPath), issues);
    if (predicate) items.push(predicate);
    else ok = false;
  });
  if (!ok) return undefined;
  const paths = [...(rule.path === undefined ? [] : [rule.path]), ...(rule.paths ?? [])];
  const combined: Condition[] = [];
  if (paths.length > 0) combined.push({ type: 'path', name: '', operator: 'in', values: [...new Set(paths)] });
  if (items.length === 1 || (items.length > 0 && rule.condition !== 'OR')) combined.push(...items);
  else if (items.length > 0) combined.push({ any: items });
  return combined.length === 1 ? combined[0]! : { all: combined };
}

function restItemPredicate(
  item: RestItem,
  path: readonly PathSegment[],
  at: (segments: readonly PathSegment[]) => string,
  issues: IssueList,
): PredicateDoc | undefined {
  const type = item.type === 'param' ? 'query' : item.type;
  const field = { type, name: item.name } as const;
  const cond = item.cond ?? '==';
  const need = (key: keyof RestItem): boolean => {
    if (item[key] !== undefined) return true;
    issues.error(at([...path, key]), `is required for operator "${item.operator}"`);
    return false;
  };
  switch (item.operator) {
    case 'rawvalue':
      return need('value') ? { ...field, operator: cond, value: item.value! } : undefined;
    case 'list':
      if (cond !== '==' && cond !== '!=') {
        issues.error(at([...path, 'cond']), `operator "list" takes cond "==" (in) or "!=" (not in), not "${cond}"`);
        return undefined;
      }
      return need('nameList') ? { ...field, operator: cond === '==' ? 'in' : 'not in', values: item.nameList! } : undefined;
    case 'mod':
      return [need('divisor'), need('remainder')].every(Boolean)
        ? { ...field, operator: 'modulo', divisor: item.divisor!, remainder: item.remainder!, compare: cond }
        : undefined;
    case 'deterministic_proportional_steaming_division':
      return need('rate') ? { ...field, operator: 'sticky', percentage: item.rate! } : undefined;
  }
}

/** The MSE API calls a rest item's value `Datum`; the consoles and EDAS call it `value`. */
function renameDatum(rules: unknown): void {
  if (!Array.isArray(rules)) return;
  for (const rule of rules) {
    const items = (rule as { restItems?: unknown } | null)?.restItems;
    if (!Array.isArray(items)) continue;
    for (const item of items) {
      if (typeof item === 'object' && item !== null && 'datum' in item && !('value' in item)) {
        const record = item as Record<string, unknown>;
        record.value = record.datum;
        delete record.datum;
      }
    }
  }
}

function lowerFirst(key: string): string {
  return key.charAt(0).toLowerCase() + key.slice(1);
}

/**
 * Copies `value` with every object key's first letter lower-cased. `original` maps a path in the
 * copy back to the keys as written, so messages quote the input; `duplicates` lists keys given in
 * two cases.
 */
function normaliseKeys(value: unknown): {
  value: unknown;
  original: (segments: readonly PathSegment[]) => PathSegment[];
  duplicates: PathSegment[][];
} {
  const duplicates: PathSegment[][] = [];
  const copy = (node: unknown, path: PathSegment[]): unknown => {
    if (Array.isArray(node)) return node.map((item, i) => copy(item, [...path, i]));
    if (typeof node !== 'object' || node === null) return node;
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(node)) {
      const normal = lowerFirst(key);
      if (Object.hasOwn(out, normal)) duplicates.push([...path, key]);
      out[normal] = copy(child, [...path, normal]);
    }
    return out;
  };
  const original = (segments: readonly PathSegment[]): PathSegment[] => {
    let node: unknown = value;
    return segments.map((segment) => {
      let written = segment;
      if (typeof segment === 'string' && typeof node === 'object' && node !== null && !Array.isArray(node)) {
        written = Object.keys(node).find((key) => lowerFirst(key) === segment) ?? segment;
      }
      node = typeof node === 'object' && node !== null ? (node as Record<PathSegment, unknown>)[written] : undefined;
      return written;
    });
  };
  return { value: copy(value, []), original, duplicates };
}
