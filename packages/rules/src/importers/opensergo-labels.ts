import * as z from 'zod';
import { joinPath } from '../model/issues.js';
import type { IssueList } from '../model/issues.js';
import { metadataSchema, scalarSchema } from '../model/schema.js';
import type { PredicateDoc } from '../model/schema.js';
import type { Predicate } from '../model/types.js';
import { strict, validate } from '../model/validate.js';
import { toPredicate } from '../compile/conditions.js';
import { emptyContribution } from '../compile/fragment.js';
import type { DocumentContribution } from '../compile/fragment.js';

/** apiVersion of every OpenSergo traffic kind graylane reads. */
export const OPENSERGO_API_VERSION = 'traffic.opensergo.io/v1alpha1';

/** OpenSergo gen-1 `type`s and the native field each reads (`param` is MSE's word for a query parameter). */
const LABEL_TYPES = {
  header: 'header',
  param: 'query',
  query: 'query',
  cookie: 'cookie',
  path: 'path',
  method: 'method',
  host: 'host',
} as const;

const COMPARE_OPERATORS = ['==', '!=', '>', '<', '>=', '<='] as const;
const TEXT_OPERATORS = ['prefix', 'suffix', 'contains', 'regex'] as const;
const LIST_OPERATORS = ['in', 'not in'] as const;
const PRESENCE_OPERATORS = ['exists', 'not exists'] as const;

const selectorSchema = strict({ app: z.string().min(1).describe('The app whose traffic or workloads the rule selects') });

const labelMatchSchema = strict({
  condition: z.enum([...COMPARE_OPERATORS, ...TEXT_OPERATORS, ...LIST_OPERATORS, ...PRESENCE_OPERATORS]),
  type: z.enum(Object.keys(LABEL_TYPES) as [keyof typeof LABEL_TYPES, ...(keyof typeof LABEL_TYPES)[]]),
  key: z.string().min(1).optional(),
  value: z.union([scalarSchema, z.array(scalarSchema).min(1)]).optional(),
});

const trafficLabelRuleSchema = strict({
  apiVersion: z.literal(OPENSERGO_API_VERSION),
  kind: z.literal('TrafficLabelRule'),
  metadata: metadataSchema.optional(),
  spec: strict({
    selector: selectorSchema.optional(),
    trafficLabel: z.string(),
    match: z.array(labelMatchSchema).min(1),
  }),
});

const workloadLabelRuleSchema = strict({
  apiVersion: z.literal(OPENSERGO_API_VERSION),
  kind: z.literal('WorkloadLabelRule'),
  metadata: metadataSchema.optional(),
  spec: strict({
    workloadLabels: z.array(z.string()).min(1),
    selector: selectorSchema,
  }),
});

/**
 * Imports an OpenSergo gen-1 TrafficLabelRule: requests matching every `match` entry (AND) get the
 * `trafficLabel` lane, at the app named by `selector.app`. Several TrafficLabelRules with one
 * trafficLabel are alternatives (OR).
 */
export function importTrafficLabelRule(doc: unknown, path: string, issues: IssueList): DocumentContribution {
  const out = emptyContribution();
  const rule = validate(trafficLabelRuleSchema, doc, path, issues);
  if (!rule) return out;
  const matchPath = joinPath(path, ['spec', 'match']);
  const predicates: Predicate[] = [];
  rule.spec.match.forEach((entry, i) => {
    const entryPath = joinPath(matchPath, [i]);
    const native = toPredicateDoc(entry, entryPath, issues);
    const predicate = native && toPredicate(native, entryPath, issues, { name: 'key', value: 'value' });
    if (predicate) predicates.push(predicate);
  });
  if (predicates.length !== rule.spec.match.length) return out;
  const app = rule.spec.selector?.app;
  out.lanes.push({
    tag: rule.spec.trafficLabel,
    path: joinPath(path, ['spec']),
    declared: false,
    settings: {},
    origins: {},
    rules: [
      {
        path: matchPath,
        priority: undefined,
        entries: app === undefined ? undefined : [app],
        condition: predicates.length === 1 ? predicates[0]! : { all: predicates },
      },
    ],
  });
  return out;
}

/** Imports an OpenSergo gen-1 WorkloadLabelRule as workload labels of `selector.app`. */
export function importWorkloadLabelRule(doc: unknown, path: string, issues: IssueList): DocumentContribution {
  const out = emptyContribution();
  const rule = validate(workloadLabelRuleSchema, doc, path, issues);
  if (rule) {
    out.workloads.push({
      path: joinPath(path, ['spec']),
      workload: { app: rule.spec.selector.app, labels: rule.spec.workloadLabels },
    });
  }
  return out;
}

function toPredicateDoc(entry: z.infer<typeof labelMatchSchema>, path: string, issues: IssueList): PredicateDoc | undefined {
  const type = LABEL_TYPES[entry.type];
  const name = entry.key;
  const { condition, value } = entry;
  const valuePath = joinPath(path, ['value']);
  if (isOneOf(condition, PRESENCE_OPERATORS)) {
    if (value !== undefined) issues.error(valuePath, `must be omitted for condition "${condition}"`);
    return { type, name, operator: condition };
  }
  if (value === undefined) {
    issues.error(valuePath, `is required for condition "${condition}"`);
    return undefined;
  }
  if (isOneOf(condition, LIST_OPERATORS)) {
    const values = Array.isArray(value) ? value : String(value).split(',').map((v) => v.trim());
    return { type, name, operator: condition, values };
  }
  if (Array.isArray(value)) {
    issues.error(valuePath, `must be a single value for condition "${condition}"; use "in" for a list`);
    return undefined;
  }
  if (isOneOf(condition, TEXT_OPERATORS)) return { type, name, operator: condition, value: String(value) };
  return { type, name, operator: condition, value };
}

function isOneOf<T extends string>(value: string, list: readonly T[]): value is T {
  return (list as readonly string[]).includes(value);
}
