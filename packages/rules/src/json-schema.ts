import * as z from 'zod';
import { nativeDocumentSchema, nativeSpecSchema } from './model/schema.js';

let cached: Record<string, unknown> | undefined;

/**
 * JSON Schema (draft 2020-12) of the native rule document, for editor completion: either a
 * Kubernetes-style `LaneRules` document or a bare `{ groups, lanes, workloads }` object. Returns a
 * fresh copy on every call.
 */
export function nativeRuleJsonSchema(): Record<string, unknown> {
  cached ??= {
    ...z.toJSONSchema(z.union([nativeDocumentSchema, nativeSpecSchema]), { unrepresentable: 'any' }),
    title: 'graylane lane rules',
  } as Record<string, unknown>;
  return structuredClone(cached);
}
