import * as z from 'zod';
import { BASE_LANE } from '@graylane/core';
import { joinPath } from '../model/issues.js';
import type { IssueList } from '../model/issues.js';
import { metadataSchema } from '../model/schema.js';
import type { Condition, FieldType, Predicate } from '../model/types.js';
import { strict, validate, validateFields } from '../model/validate.js';
import { toPredicate } from '../compile/conditions.js';
import { emptyContribution } from '../compile/fragment.js';
import type { DocumentContribution } from '../compile/fragment.js';

/** apiVersions of Istio's VirtualService. */
export const ISTIO_API_VERSIONS = ['networking.istio.io/v1', 'networking.istio.io/v1beta1', 'networking.istio.io/v1alpha3'] as const;

const any = z.unknown().optional();
const stringMatchSchema = strict({ exact: z.string().optional(), prefix: z.string().optional(), regex: z.string().optional() });
type StringMatch = z.infer<typeof stringMatchSchema>;

/** Match fields graylane cannot read; ignoring them would admit requests the rule does not. */
export const MATCH_REFUSED: Record<string, string> = {
  scheme: 'graylane does not decide lanes by scheme; remove it',
  port: 'graylane does not decide lanes by port; remove it',
  sourceLabels: 'names the calling workload; graylane decides lanes once, at the entry: scope the rule with a native lane group instead',
  sourceNamespace: 'names the calling workload’s namespace; graylane decides lanes once, at the entry: remove it',
  gateways: 'names the Istio gateway the request came through; scope the rule with a native lane group instead',
};

const httpMatchSchema = strict({
  name: z.string().optional(),
  uri: stringMatchSchema.optional(),
  method: stringMatchSchema.optional(),
  authority: stringMatchSchema.optional(),
  headers: z.record(z.string(), stringMatchSchema).optional(),
  queryParams: z.record(z.string(), stringMatchSchema).optional(),
  withoutHeaders: z.record(z.string(), stringMatchSchema).optional(),
  ignoreUriCase: z.boolean().optional(),
  statPrefix: z.string().optional(),
  ...Object.fromEntries(Object.keys(MATCH_REFUSED).map((key) => [key, any])),
});

/** HTTPRoute fields about what happens after the route is chosen (transport, not lanes). */
export const ROUTE_WARNED = ['name', 'rewrite', 'timeout', 'retries', 'fault', 'mirror', 'mirrors', 'mirrorPercentage', 'mirrorPercent', 'corsPolicy', 'headers'];
/** HTTPRoute fields that replace the destination: the route sends no request to a lane. */
export const ROUTE_REFUSED: Record<string, string> = {
  redirect: 'answers with a redirect instead of routing to a subset; graylane only chooses lanes: remove the route or route it to a subset',
  directResponse: 'answers by itself instead of routing to a subset; graylane only chooses lanes: remove the route or route it to a subset',
  delegate: 'hands the route to another VirtualService, which graylane does not follow: put that VirtualService’s routes here',
};

const httpRouteSchema = strict({
  match: z.array(z.unknown()).optional(),
  route: z
    .array(
      strict({
        destination: strict({ host: z.string().min(1), subset: z.string().optional(), port: any }),
        weight: z.int().min(0).optional(),
        headers: any,
      }),
    )
    .optional(),
  ...Object.fromEntries(ROUTE_WARNED.map((key) => [key, any])),
  ...Object.fromEntries(Object.keys(ROUTE_REFUSED).map((key) => [key, any])),
});

/** The envelope, the spec and each route are checked apart, so that one problem hides no other. */
const virtualServiceSchema = strict({
  apiVersion: z.enum(ISTIO_API_VERSIONS),
  kind: z.literal('VirtualService'),
  metadata: metadataSchema.optional(),
  spec: z.record(z.string(), z.unknown()),
  status: any,
});

const virtualServiceSpecSchema = strict({
  hosts: z.array(z.string().min(1)).min(1),
  gateways: any,
  exportTo: any,
  http: z.array(z.unknown()).optional(),
  tls: any,
  tcp: any,
});

/**
 * Imports an Istio VirtualService. `hosts` names the callee, whose `destination.subset`s are lanes
 * (no subset, or `base`: base). Istio decides per call, at the caller's sidecar; graylane decides the
 * lane once, at the entry, and every hop then carries it: so the routes' matches apply wherever lanes
 * are decided (every entry), and the lane then holds for the callee and every later hop. `http`
 * routes are tried in order (priorities 0, 1, 2, ..., one per destination); entries of one `match`
 * are OR'ed and the fields inside one entry AND'ed; `regex` must match the whole value (RE2, as
 * Envoy); several destinations split by `weight`, relative, by one random draw per request.
 */
export function importVirtualService(doc: unknown, path: string, issues: IssueList): DocumentContribution {
  const out = emptyContribution();
  const envelope = validateFields(virtualServiceSchema, doc, path, issues);
  const specPath = joinPath(path, ['spec']);
  const checked = envelope?.value.spec && validateFields(virtualServiceSpecSchema, envelope.value.spec, specPath, issues);
  if (!checked) return out;
  const spec = checked.value;
  // Only a document whose envelope and spec passed is imported; its routes are checked either way.
  const importable = envelope.ok && checked.ok;
  for (const key of ['gateways', 'exportTo'] as const) {
    if (spec[key] !== undefined) issues.warn(joinPath(specPath, [key]), `is ignored: ${key === 'gateways' ? 'graylane applies the rules at every entry' : 'Istio visibility'}, not a lane setting`);
  }
  for (const key of ['tls', 'tcp'] as const) {
    if (spec[key] !== undefined) issues.warn(joinPath(specPath, [key]), 'is ignored: graylane decides lanes of HTTP requests only');
  }
  if (envelope.value.status !== undefined) issues.warn(joinPath(path, ['status']), 'is ignored: set by Kubernetes');
  const hosts = spec.hosts ?? [];
  let priority = 0;
  (spec.http ?? []).forEach((input, r) => {
    const routePath = joinPath(specPath, ['http', r]);
    const route = validate(httpRouteSchema, input, routePath, issues);
    if (!route) return;
    let ok = true;
    const fields = route as Record<string, unknown>;
    for (const key of ROUTE_WARNED) {
      if (fields[key] !== undefined) issues.warn(joinPath(routePath, [key]), 'is ignored: it acts after the lane is chosen');
    }
    for (const [key, why] of Object.entries(ROUTE_REFUSED)) {
      if (fields[key] !== undefined) {
        issues.error(joinPath(routePath, [key]), `cannot be honoured: it ${why}`);
        ok = false;
      }
    }
    const destinations = route.route ?? [];
    if (destinations.length === 0 && ok) {
      issues.error(joinPath(routePath, ['route']), 'is required: the destinations (subsets) the route sends requests to');
      ok = false;
    }
    const condition = routeCondition(route.match ?? [], joinPath(routePath, ['match']), issues);
    if (!condition || !ok) return;
    const total = destinations.length === 1 ? 1 : destinations.reduce((sum, d) => sum + (d.weight ?? 0), 0);
    if (total === 0) {
      issues.error(joinPath(routePath, ['route']), 'every destination has weight 0 (or none): give the shares weights');
      return;
    }
    let cumulative = 0;
    destinations.forEach((entry, d) => {
      const destinationPath = joinPath(routePath, ['route', d]);
      if (entry.destination.port !== undefined) issues.warn(joinPath(destinationPath, ['destination', 'port']), 'is ignored: graylane picks the port from the registry');
      if (entry.headers !== undefined) issues.warn(joinPath(destinationPath, ['headers']), 'is ignored: it acts after the lane is chosen');
      if (spec.hosts && !sameService(entry.destination.host, hosts)) {
        issues.error(
          joinPath(destinationPath, ['destination', 'host']),
          `"${entry.destination.host}" is not one of spec.hosts (${hosts.join(', ')}); graylane routes between lanes (subsets) of one service, so route to a subset of it`,
        );
        return;
      }
      const weight = destinations.length === 1 ? 1 : (entry.weight ?? 0);
      if (weight === 0) return;
      cumulative += weight;
      const exact = (cumulative * 100) / total;
      const percent = Math.round(exact);
      if (percent !== exact) issues.warn(joinPath(destinationPath, ['weight']), `the share up to here, ${exact.toFixed(2)} %, is rounded to ${percent} % (graylane splits by whole percentages)`);
      if (!importable) return;
      const split: Condition =
        percent >= 100 ? condition : { all: [...('all' in condition ? condition.all : [condition]), { operator: 'random', percentage: percent }] };
      out.lanes.push({
        tag: entry.destination.subset ?? BASE_LANE,
        path: destinationPath,
        declared: false,
        settings: {},
        origins: {},
        rules: [{ path: routePath, priority: priority++, entries: undefined, condition: split }],
      });
    });
  });
  return out;
}

/** A host of `hosts`, or its short name (`reviews` for `reviews.prod.svc.cluster.local`). */
function sameService(host: string, hosts: readonly string[]): boolean {
  const short = (name: string) => name.split('.')[0]!.toLowerCase();
  return hosts.some((h) => h === '*' || h === host || short(h) === short(host));
}

function routeCondition(matches: readonly unknown[], path: string, issues: IssueList): Condition | undefined {
  const alternatives: Condition[] = [];
  let ok = true;
  matches.forEach((input, i) => {
    const matchPath = joinPath(path, [i]);
    const match = validate(httpMatchSchema, input, matchPath, issues);
    if (!match) {
      ok = false;
      return;
    }
    const predicates = matchPredicates(match, matchPath, issues);
    if (predicates) alternatives.push(predicates.length === 1 ? predicates[0]! : { all: predicates });
    else ok = false;
  });
  if (!ok) return undefined;
  if (alternatives.length === 0) return { all: [] };
  return alternatives.length === 1 ? alternatives[0]! : { any: alternatives };
}

function matchPredicates(match: z.infer<typeof httpMatchSchema>, path: string, issues: IssueList): Condition[] | undefined {
  const out: (Condition | undefined)[] = [];
  let refused = false;
  for (const [key, why] of Object.entries(MATCH_REFUSED)) {
    if ((match as Record<string, unknown>)[key] !== undefined) {
      issues.error(joinPath(path, [key]), `cannot be honoured: it ${why}`);
      refused = true;
    }
  }
  if (match.name !== undefined) issues.warn(joinPath(path, ['name']), 'is ignored: informative');
  if (match.statPrefix !== undefined) issues.warn(joinPath(path, ['statPrefix']), 'is ignored: Envoy statistics');
  for (const [name, value] of Object.entries(match.headers ?? {})) {
    out.push(stringPredicate('header', name, value, false, joinPath(path, ['headers', name]), issues));
  }
  for (const [name, value] of Object.entries(match.withoutHeaders ?? {})) {
    out.push(withoutHeader(name, value, joinPath(path, ['withoutHeaders', name]), issues));
  }
  for (const [name, value] of Object.entries(match.queryParams ?? {})) {
    out.push(stringPredicate('query', name, value, false, joinPath(path, ['queryParams', name]), issues));
  }
  if (match.uri) out.push(stringPredicate('path', undefined, match.uri, match.ignoreUriCase === true, joinPath(path, ['uri']), issues));
  else if (match.ignoreUriCase !== undefined) issues.warn(joinPath(path, ['ignoreUriCase']), 'is ignored: there is no uri to match');
  if (match.method) out.push(stringPredicate('method', undefined, match.method, false, joinPath(path, ['method']), issues));
  if (match.authority) out.push(stringPredicate('host', undefined, match.authority, true, joinPath(path, ['authority']), issues));
  return !refused && out.every((p) => p !== undefined) ? (out as Condition[]) : undefined;
}

/**
 * Istio's StringMatch: `exact`, `prefix`, or `regex` (RE2, matching the whole value); an empty
 * match on a header or parameter tests presence. `caseless` matches regardless of case.
 */
function stringPredicate(
  type: FieldType,
  name: string | undefined,
  match: StringMatch,
  caseless: boolean,
  path: string,
  issues: IssueList,
): Predicate | undefined {
  const given = (['exact', 'prefix', 'regex'] as const).filter((key) => match[key] !== undefined);
  if (given.length === 0 && name !== undefined) return toPredicate({ type, name, operator: 'exists' }, path, issues);
  if (given.length !== 1) {
    issues.error(path, `must set exactly one of exact, prefix, regex (got ${given.length === 0 ? 'none' : given.join(', ')})`);
    return undefined;
  }
  const key = given[0]!;
  const value = match[key]!;
  const keys = { name: 'name', value: key };
  if (key === 'regex') return toPredicate({ type, name, operator: 'regex', value: `${caseless ? '(?i)' : ''}^(?:${value})$` }, path, issues, keys);
  if (caseless && type === 'path') {
    const quoted = value.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
    return toPredicate({ type, name, operator: 'regex', value: `(?i)^${quoted}${key === 'prefix' ? '' : '$'}` }, path, issues, keys);
  }
  return toPredicate({ type, name, operator: key === 'exact' ? '==' : 'prefix', value }, path, issues, keys);
}

/** `withoutHeaders`: the header is absent, or does not match (only `exact`, or presence, can be negated). */
function withoutHeader(name: string, match: StringMatch, path: string, issues: IssueList): Condition | undefined {
  const absent = toPredicate({ type: 'header', name, operator: 'not exists' }, path, issues);
  if (match.exact === undefined && match.prefix === undefined && match.regex === undefined) return absent;
  if (match.exact === undefined || match.prefix !== undefined || match.regex !== undefined) {
    issues.error(path, 'graylane can negate only an exact value or presence; write the values that must match under headers instead');
    return undefined;
  }
  const differs = toPredicate({ type: 'header', name, operator: '!=', value: match.exact }, path, issues);
  return absent && differs ? { any: [absent, differs] } : undefined;
}
