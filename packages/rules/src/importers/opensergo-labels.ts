import * as z from 'zod';
import { joinPath } from '../model/issues.js';
import type { IssueList } from '../model/issues.js';
import { metadataSchema, scalarSchema } from '../model/schema.js';
import type { PredicateDoc } from '../model/schema.js';
import type { Predicate } from '../model/types.js';
import { strict, validate, validateFields } from '../model/validate.js';
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

/** Kubernetes-style label selector: `app` (or `app.kubernetes.io/name`) names the app; other labels are checked by the importers. */
const selectorSchema = z.record(z.string(), z.string());

/** The label keys that name an app. */
const APP_LABELS = ['app', 'app.kubernetes.io/name'];

/**
 * The app a selector names, and its other labels. Both app keys naming different apps is an error.
 */
function selectedApp(
  selector: Record<string, string>,
  path: string,
  issues: IssueList,
): { app: string | undefined; others: string[]; ok: boolean } {
  const apps = APP_LABELS.filter((key) => selector[key] !== undefined);
  const names = [...new Set(apps.map((key) => selector[key]!))];
  if (names.length > 1) {
    issues.error(joinPath(path, [apps[1]!]), `names app "${names[1]}" but ${apps[0]} names "${names[0]}"; keep one`);
    return { app: undefined, others: [], ok: false };
  }
  if (names[0] === '') {
    issues.error(joinPath(path, [apps[0]!]), 'must not be empty');
    return { app: undefined, others: [], ok: false };
  }
  return { app: names[0], others: Object.keys(selector).filter((key) => !APP_LABELS.includes(key)), ok: true };
}

const labelMatchSchema = strict({
  condition: z.enum([...COMPARE_OPERATORS, ...TEXT_OPERATORS, ...LIST_OPERATORS, ...PRESENCE_OPERATORS]),
  type: z.enum(Object.keys(LABEL_TYPES) as [keyof typeof LABEL_TYPES, ...(keyof typeof LABEL_TYPES)[]]),
  key: z.string().min(1).optional(),
  value: z.union([scalarSchema, z.array(scalarSchema).min(1)]).optional(),
});

/** The envelope and the spec are checked apart, and the match entries one by one, so one problem hides no other. */
const trafficLabelRuleSchema = strict({
  apiVersion: z.literal(OPENSERGO_API_VERSION),
  kind: z.literal('TrafficLabelRule'),
  metadata: metadataSchema.optional(),
  spec: z.record(z.string(), z.unknown()),
});

const trafficLabelSpecSchema = strict({
  selector: selectorSchema.optional(),
  trafficLabel: z.string(),
  match: z.array(z.unknown()).min(1),
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
  const envelope = validateFields(trafficLabelRuleSchema, doc, path, issues);
  const checked = envelope?.value.spec && validateFields(trafficLabelSpecSchema, envelope.value.spec, joinPath(path, ['spec']), issues);
  if (!checked) return out;
  const spec = checked.value;
  const matchPath = joinPath(path, ['spec', 'match']);
  const predicates: Predicate[] = [];
  spec.match?.forEach((input, i) => {
    const entryPath = joinPath(matchPath, [i]);
    const entry = validate(labelMatchSchema, input, entryPath, issues);
    const native = entry && toPredicateDoc(entry, entryPath, issues);
    const predicate = native && toPredicate(native, entryPath, issues, { name: 'key', value: 'value' });
    if (predicate) predicates.push(predicate);
  });
  const selectorPath = joinPath(path, ['spec', 'selector']);
  const selected = spec.selector ? selectedApp(spec.selector, selectorPath, issues) : { app: undefined, others: [], ok: true };
  if (!selected.ok) return out;
  if (selected.others.length > 0 && selected.app === undefined) {
    issues.error(
      selectorPath,
      `selects by ${selected.others.join(', ')} only; graylane scopes a rule to apps, not to workload labels: add app: <the app that labels the traffic>`,
    );
    return out;
  }
  for (const key of selected.others) {
    issues.warn(
      joinPath(selectorPath, [key]),
      `is ignored: graylane scopes rules to apps, so every instance of app "${selected.app}" applies this rule, whatever its ${key}`,
    );
  }
  if (!envelope.ok || !checked.ok || spec.trafficLabel === undefined || predicates.length !== spec.match?.length) return out;
  const app = selected.app;
  out.lanes.push({
    tag: spec.trafficLabel,
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
  if (!rule) return out;
  const selectorPath = joinPath(path, ['spec', 'selector']);
  const { app, others, ok } = selectedApp(rule.spec.selector, selectorPath, issues);
  if (!ok) return out;
  if (others.length > 0) {
    // Ignoring them would label every instance of the app, and leave base traffic no base instance.
    for (const key of others) {
      issues.error(
        joinPath(selectorPath, [key]),
        `cannot be honoured: graylane labels all instances of an app, not those with a given ${key}; give the lane's workloads their own app name (as my-app-gray) or set the lane on those instances (GRAYLANE_LANE, alicloud.service.tag)`,
      );
    }
    return out;
  }
  if (app === undefined) {
    issues.error(joinPath(selectorPath, ['app']), 'is required: the app whose workloads serve these lanes');
    return out;
  }
  out.workloads.push({ path: joinPath(path, ['spec']), workload: { app, labels: rule.spec.workloadLabels } });
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
