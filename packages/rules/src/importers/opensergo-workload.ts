import { joinPath, show } from '../model/issues.js';
import type { IssueList } from '../model/issues.js';
import { emptyContribution } from '../compile/fragment.js';
import type { DocumentContribution } from '../compile/fragment.js';
import { OPENSERGO_API_VERSION } from './opensergo-labels.js';

/** Instance labels that carry the lane, as graylane reads them from the registry. */
const LANE_LABELS = ['traffic.opensergo.io/label', 'alicloud.service.tag'];

/**
 * Checks an OpenSergo `VirtualWorkload` (the current generation's DestinationRule beside
 * TrafficRouter: `spec.host`, `spec.subsets[{name, labels}]`, `spec.trafficPolicy`). graylane finds
 * a lane's instances by their lane label, so a subset is honoured when its labels are that lane
 * label with the subset's name as value (`{traffic.opensergo.io/label: gray}` for subset `gray`);
 * it then adds nothing to the rules. A subset selecting instances by any other label is refused
 * with what to write; `trafficPolicy` is warned about.
 */
export function importVirtualWorkload(doc: unknown, path: string, issues: IssueList): DocumentContribution {
  const out = emptyContribution();
  const record = doc as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(key)) issues.error(joinPath(path, [key]), 'is not a field of a VirtualWorkload (apiVersion, kind, metadata, spec)');
  }
  if (record.status !== undefined) issues.warn(joinPath(path, ['status']), 'is ignored: set by Kubernetes');
  if (record.apiVersion !== OPENSERGO_API_VERSION) issues.error(joinPath(path, ['apiVersion']), `must be "${OPENSERGO_API_VERSION}" (got ${show(record.apiVersion)})`);
  const specPath = joinPath(path, ['spec']);
  const spec = record.spec;
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    issues.error(specPath, `is required: {host, subsets} (got ${show(spec)})`);
    return out;
  }
  const fields = spec as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (key === 'trafficPolicy') issues.warn(joinPath(specPath, [key]), 'is ignored: load balancing and connection settings, not a lane setting');
    else if (key !== 'host' && key !== 'subsets') issues.error(joinPath(specPath, [key]), 'is not a field of a VirtualWorkload spec (host, subsets, trafficPolicy)');
  }
  if (typeof fields.host !== 'string' || fields.host === '') issues.error(joinPath(specPath, ['host']), `is required: the service (got ${show(fields.host)})`);
  const subsets = fields.subsets ?? [];
  if (!Array.isArray(subsets)) {
    issues.error(joinPath(specPath, ['subsets']), 'expected a list of {name, labels}');
    return out;
  }
  subsets.forEach((subset, i) => {
    const at = joinPath(specPath, ['subsets', i]);
    const s = (typeof subset === 'object' && subset !== null ? subset : {}) as Record<string, unknown>;
    if (typeof s.name !== 'string' || s.name === '') {
      issues.error(joinPath(at, ['name']), 'is required: the subset (lane) name');
      return;
    }
    if (s.trafficPolicy !== undefined) issues.warn(joinPath(at, ['trafficPolicy']), 'is ignored: load balancing and connection settings, not a lane setting');
    const labels = (typeof s.labels === 'object' && s.labels !== null ? s.labels : {}) as Record<string, unknown>;
    for (const [key, value] of Object.entries(labels)) {
      if (LANE_LABELS.includes(key) && value === s.name) continue;
      issues.error(
        joinPath(at, ['labels', key]),
        LANE_LABELS.includes(key)
          ? `is ${show(value)}, but the subset is "${s.name}": graylane routes lane "${s.name}" to instances labelled ${key}: ${s.name}; rename one so they agree`
          : `cannot be honoured: graylane finds a lane's instances by their lane label, not by ${key}; label the instances traffic.opensergo.io/label: ${s.name} and select them by that`,
      );
    }
  });
  return out;
}
