import { joinPath } from '../model/issues.js';
import type { IssueList } from '../model/issues.js';
import { NATIVE_KIND, nativeDocumentShallowSchema } from '../model/schema.js';
import { validateFields } from '../model/validate.js';
import { emptyContribution } from '../compile/fragment.js';
import type { DocumentContribution } from '../compile/fragment.js';
import { importNative } from './native.js';
import { importMse, isMseLane } from './mse.js';
import { importTrafficLabelRule, importWorkloadLabelRule } from './opensergo-labels.js';
import { importTrafficRouter } from './opensergo-router.js';
import { importApisix, isApisix } from './apisix.js';
import { importVirtualService } from './istio.js';
import { importVirtualWorkload } from './opensergo-workload.js';

const KINDS: Record<string, (doc: unknown, path: string, issues: IssueList) => DocumentContribution> = {
  [NATIVE_KIND]: (doc, path, issues) => {
    // The envelope and the spec are checked apart: a misspelt envelope field hides nothing in the spec.
    const native = validateFields(nativeDocumentShallowSchema, doc, path, issues);
    return native?.value.spec ? importNative(native.value.spec, joinPath(path, ['spec']), issues) : emptyContribution();
  },
  TrafficLabelRule: importTrafficLabelRule,
  WorkloadLabelRule: importWorkloadLabelRule,
  TrafficRouter: importTrafficRouter,
  VirtualService: importVirtualService,
  VirtualWorkload: importVirtualWorkload,
};

const NATIVE_KEYS = ['lanes', 'groups', 'workloads'];

/**
 * Imports one document of any supported form, telling the form apart by `kind` (Kubernetes-style
 * documents), by `lanes` / `groups` / `workloads` (a bare native rule set), or by `Tag` /
 * `EntryRules` (an MSE lane).
 */
export function importDocument(doc: unknown, path: string, issues: IssueList): DocumentContribution {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    issues.error(path, `expected a rule document (an object), got ${describe(doc)}`);
    return emptyContribution();
  }
  const record = doc as Record<string, unknown>;
  if ('kind' in record) {
    const importer = typeof record.kind === 'string' && Object.hasOwn(KINDS, record.kind) ? KINDS[record.kind] : undefined;
    if (importer) return importer(doc, path, issues);
    issues.error(
      joinPath(path, ['kind']),
      `unknown kind ${JSON.stringify(record.kind)}; expected one of ${Object.keys(KINDS).join(', ')} (OpenSergo's gen-2 VirtualWorkloads and RouterRule are not supported: use TrafficRouter and VirtualWorkload)`,
    );
    return emptyContribution();
  }
  if (NATIVE_KEYS.some((key) => key in record)) {
    return importNative(doc, path, issues);
  }
  if (isMseLane(record)) return importMse(record, path, issues);
  if (isApisix(record)) return importApisix(record, path, issues);
  issues.error(
    path,
    'cannot tell what this document is: give it a kind (LaneRules, TrafficLabelRule, WorkloadLabelRule, TrafficRouter, VirtualService), native lanes/groups/workloads, MSE Tag and EntryRules, or an APISIX route (uri/uris, or routes: [...])',
  );
  return emptyContribution();
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return `a ${typeof value}`;
}
