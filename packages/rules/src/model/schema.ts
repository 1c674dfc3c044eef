import * as z from 'zod';
import { isValidLane } from '@graylane/core';
import { strict } from './validate.js';

/**
 * zod schemas of the native document form (what people write), shared by the native importer and
 * the exported JSON Schema. Semantic checks that need more than shape (lane grammar, regex safety,
 * references between lanes and groups) live in the importers and in compile/.
 */

const COMPARE = ['==', '!=', '>', '<', '>=', '<='] as const;
const FIELD_TYPES = ['header', 'query', 'cookie', 'path', 'method', 'host', 'attribute'] as const;

/** A comparison operator schema. */
export const compareOperatorSchema = z.enum(COMPARE);
/** A request field type schema. */
export const fieldTypeSchema = z.enum(FIELD_TYPES).describe('Where the value comes from');
/** YAML and JSON numbers are accepted where a string is meant, and stringified. */
export const scalarSchema = z.union([z.string(), z.number()]);
/** An integer percentage, 0-100. */
export const percentageSchema = z.int().min(0).max(100);

const fieldName = z
  .string()
  .min(1)
  .optional()
  .describe('Header (any case), query parameter, cookie or attribute name; omitted for path, method, host');

function predicateSchema<E extends z.ZodRawShape>(extra: E) {
  const field = { type: fieldTypeSchema, name: fieldName, ...extra };
  return z.discriminatedUnion('operator', [
    strict({ ...field, operator: compareOperatorSchema, value: scalarSchema }),
    strict({ ...field, operator: z.enum(['in', 'not in']), values: z.array(scalarSchema).min(1) }),
    strict({ ...field, operator: z.enum(['prefix', 'suffix', 'contains', 'regex']), value: z.string() }),
    strict({ ...field, operator: z.enum(['exists', 'not exists']) }),
    strict({
      ...field,
      operator: z.literal('modulo'),
      divisor: z.int().min(1),
      remainder: z.int(),
      compare: compareOperatorSchema.optional().describe('How the remainder is compared; default =='),
    }),
    strict({ ...field, operator: z.literal('sticky'), percentage: percentageSchema }),
    strict({ ...extra, operator: z.literal('random'), percentage: percentageSchema }),
  ]);
}

/** A predicate as written in a document. */
export type PredicateDoc = z.infer<ReturnType<typeof predicateSchema<{}>>>;

/** A condition as written in a document: a predicate, or an `all` / `any` group. */
export type ConditionDoc = PredicateDoc | { all: ConditionDoc[] } | { any: ConditionDoc[] };

/** A native condition (recursive). */
export const conditionSchema: z.ZodType<ConditionDoc> = z.lazy(() =>
  z.union([
    strict({ all: z.array(conditionSchema).min(1).describe('Every condition holds (AND)') }),
    strict({ any: z.array(conditionSchema).min(1).describe('At least one condition holds (OR)') }),
    predicateSchema({}),
  ]),
);

const ruleExtras = {
  priority: z.int().optional().describe('Lower runs first; default: the lane priority'),
  entries: z.array(z.string().min(1)).min(1).optional().describe('Entry apps this rule applies at'),
};

/** One entry of a lane's `match` list: a condition with an optional priority and entry scope. */
export const matchRuleSchema = z.union([
  strict({ all: z.array(conditionSchema).min(1), ...ruleExtras }),
  strict({ any: z.array(conditionSchema).min(1), ...ruleExtras }),
  predicateSchema(ruleExtras),
]);

/** A match rule as written in a document. */
export type MatchRuleDoc = z.infer<typeof matchRuleSchema>;

const fieldSchema = strict({ type: fieldTypeSchema, name: fieldName });

const laneShape = {
  tag: z
    .string()
    .refine(isValidLane, 'is not a valid lane: use 1-63 characters of A-Z a-z 0-9 . _ -, starting and ending with a letter or digit')
    .describe('Lane tag (1-63 of A-Z a-z 0-9 . _ -); "base" pins matching requests to base'),
  group: z.string().min(1).optional().describe('Name of the lane group this lane belongs to'),
  enabled: z.boolean().optional().describe('Default true'),
  priority: z.int().optional().describe('Default priority of the match rules; lower runs first; default 0'),
  match: z.array(matchRuleSchema).optional().describe('Alternatives (OR); each entry is a condition'),
  percentage: z
    .union([percentageSchema, strict({ value: percentageSchema, key: fieldSchema.optional() })])
    .optional()
    .describe('Share of matching traffic: a number (random) or {value, key} (sticky by key)'),
  fallback: z.array(z.string()).optional().describe('Lanes to try in order when the callee lacks this lane'),
  strict: z.boolean().optional().describe('Never fall back to base; default false'),
  description: z.string().optional(),
};

/** A lane, fully checked (for the JSON Schema). */
const laneSchema = strict(laneShape);

/** A lane whose match rules are checked one by one afterwards, so one bad rule hides nothing else. */
export const laneShallowSchema = strict({ ...laneShape, match: z.array(z.unknown()).optional() });

/** A lane as written in a document. */
export type LaneDoc = z.infer<typeof laneSchema>;

/** One lane group as written. */
export const groupSchema = strict({
  name: z.string().min(1),
  entries: z.array(z.string().min(1)).min(1).describe('Apps (or gateways) that decide the lane'),
  apps: z.array(z.string().min(1)).optional().describe('Member apps that carry the lane'),
  description: z.string().optional(),
});

/** One workload label entry as written. */
export const workloadSchema = strict({
  app: z.string().min(1),
  labels: z.array(z.string()).min(1).describe('Lanes the app’s workloads serve'),
});

const specShape = {
  groups: z.array(groupSchema).optional(),
  lanes: z.array(laneSchema).optional(),
  workloads: z.array(workloadSchema).optional(),
};

/** The native rule set: `{ groups, lanes, workloads }`, each optional (fully checked, for the JSON Schema). */
export const nativeSpecSchema = strict(specShape);

/** The native rule set with groups, lanes and workloads left to be checked one by one, so one bad entry hides nothing else. */
export const nativeSpecShallowSchema = strict({
  groups: z.array(z.unknown()).optional(),
  lanes: z.array(z.unknown()).optional(),
  workloads: z.array(z.unknown()).optional(),
});

/** The native rule set as it appears in documents, lanes still unchecked. */
export type NativeSpecDoc = z.infer<typeof nativeSpecShallowSchema>;

/** apiVersion of native Kubernetes-style documents. */
export const NATIVE_API_VERSION = 'graylane.io/v1alpha1';
/** kind of native Kubernetes-style documents. */
export const NATIVE_KIND = 'LaneRules';

/** Kubernetes metadata is Kubernetes' business: any object is accepted. */
export const metadataSchema = z.record(z.string(), z.unknown());

function documentSchema<S extends z.ZodType>(spec: S) {
  return strict({
    apiVersion: z.literal(NATIVE_API_VERSION),
    kind: z.literal(NATIVE_KIND),
    metadata: metadataSchema.optional(),
    spec,
  });
}

/** The native rule set wrapped as a Kubernetes-style document (fully checked, for the JSON Schema). */
export const nativeDocumentSchema = documentSchema(nativeSpecSchema);

/** The Kubernetes-style native document with its spec left to be checked apart, so a bad envelope field hides nothing in the spec. */
export const nativeDocumentShallowSchema = documentSchema(z.record(z.string(), z.unknown()));
