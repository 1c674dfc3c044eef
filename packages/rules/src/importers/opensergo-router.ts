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
import { OPENSERGO_API_VERSION } from './opensergo-labels.js';
import { MATCH_REFUSED, ROUTE_REFUSED, ROUTE_WARNED } from './istio.js';

const stringMatchSchema = strict({
  exact: z.string().optional(),
  prefix: z.string().optional(),
  regex: z.string().optional(),
});

const extra = z.unknown().optional();

const httpMatchSchema = strict({
  name: z.string().optional(),
  withoutHeaders: extra,
  authority: extra,
  ignoreUriCase: extra,
  statPrefix: extra,
  ...Object.fromEntries(Object.keys(MATCH_REFUSED).map((key) => [key, extra])),
  headers: z.record(z.string(), stringMatchSchema).optional(),
  queryParams: z.record(z.string(), stringMatchSchema).optional(),
  uri: stringMatchSchema.optional(),
  method: stringMatchSchema.optional(),
});

const destinationSchema = strict({
  host: z.string().min(1),
  subset: z.string().optional(),
  weight: z.int().min(0).max(100).optional(),
  port: extra,
  fallback: strict({ host: z.string().min(1), subset: z.string().optional() }).optional(),
});

const routeSchema = strict({
  name: z.string().optional(),
  match: z.array(httpMatchSchema).optional(),
  route: z.array(strict({ destination: destinationSchema, weight: z.int().min(0).max(100).optional(), headers: extra })).min(1),
  ...Object.fromEntries([...ROUTE_WARNED, ...Object.keys(ROUTE_REFUSED)].filter((key) => key !== 'name').map((key) => [key, extra])),
});

/** The envelope, the spec and each route are checked apart, so that one problem hides no other. */
const trafficRouterSchema = strict({
  apiVersion: z.literal(OPENSERGO_API_VERSION),
  kind: z.literal('TrafficRouter'),
  metadata: metadataSchema.optional(),
  spec: z.record(z.string(), z.unknown()),
});

const trafficRouterSpecSchema = strict({
  hosts: z.array(z.string().min(1)).min(1),
  http: z.array(z.unknown()).min(1),
  gateways: extra,
  exportTo: extra,
  tls: extra,
  tcp: extra,
  rpc: extra,
});

type Route = z.infer<typeof routeSchema>;

export type StringMatch = z.infer<typeof stringMatchSchema>;
type HttpMatch = z.infer<typeof httpMatchSchema>;

/**
 * Imports an OpenSergo TrafficRouter (an Istio VirtualService): `http` routes are tried in order and
 * the first that matches wins; entries of one route's `match` are OR'ed and the fields inside one
 * entry AND'ed. Each destination `subset` is a lane (no subset, or `base`, is base); weighted
 * destinations split the route's traffic by one random draw per request; `destination.fallback`
 * becomes the lane's fallback chain. Rules apply at the apps named in `hosts` (`*`: everywhere).
 * Route order is kept through priorities 0, 1, 2, ... (one per destination).
 */
export function importTrafficRouter(doc: unknown, path: string, issues: IssueList): DocumentContribution {
  const out = emptyContribution();
  const envelope = validateFields(trafficRouterSchema, doc, path, issues);
  const specPath = joinPath(path, ['spec']);
  const checked = envelope?.value.spec && validateFields(trafficRouterSpecSchema, envelope.value.spec, specPath, issues);
  if (!checked) return out;
  const spec = checked.value;
  warnSpecFields(spec, specPath, issues);
  const routes: { route: Route; path: string }[] = [];
  spec.http?.forEach((input, r) => {
    const routePath = joinPath(specPath, ['http', r]);
    const route = validate(routeSchema, input, routePath, issues);
    if (route) routes.push({ route, path: routePath });
  });
  const honoured = routes.map(({ route, path }) => checkIstioFields(route, path, issues));
  const hosts = spec.hosts;
  // Every route is checked whatever failed before; only a document without problems is imported.
  const importable = envelope.ok && checked.ok && routes.length === spec.http?.length && !honoured.includes(false);
  const entries = hosts === undefined || hosts.includes('*') ? undefined : hosts;
  let priority = 0;
  routes.forEach(({ route, path: routePath }) => {
    const condition = routeCondition(route.match ?? [], joinPath(routePath, ['match']), issues);
    const weights = routeWeights(route.route, joinPath(routePath, ['route']), issues);
    if (!condition || !weights) return;
    let cumulative = 0;
    route.route.forEach(({ destination }, d) => {
      const destinationPath = joinPath(routePath, ['route', d, 'destination']);
      const weight = weights[d]!;
      cumulative += weight;
      if (hosts) checkHost(destination.host, hosts, joinPath(destinationPath, ['host']), issues);
      const tag = destination.subset ?? BASE_LANE;
      const fallback = destination.fallback;
      if (fallback) {
        if (hosts) checkHost(fallback.host, hosts, joinPath(destinationPath, ['fallback', 'host']), issues);
        if (tag === BASE_LANE) issues.error(joinPath(destinationPath, ['fallback']), 'base has no fallback; remove it');
      }
      if (weight === 0 || !importable) return;
      const split: Condition =
        cumulative >= 100 ? condition : { all: [...conjuncts(condition), { operator: 'random', percentage: cumulative }] };
      out.lanes.push({
        tag,
        path: destinationPath,
        declared: false,
        settings: fallback && tag !== BASE_LANE ? { fallback: [fallback.subset ?? BASE_LANE] } : {},
        origins: { fallback: joinPath(destinationPath, ['fallback']) },
        rules: [{ path: routePath, priority: priority++, entries, condition: split }],
      });
    });
  });
  return out;
}

/** The spec fields of a VirtualService that a TrafficRouter inherits and graylane does not use. */
function warnSpecFields(spec: Record<string, unknown>, specPath: string, issues: IssueList): void {
  for (const key of ['gateways', 'exportTo', 'tls', 'tcp', 'rpc']) {
    if (spec[key] === undefined) continue;
    const why = key === 'gateways' || key === 'exportTo' ? 'Istio visibility, not a lane setting' : 'graylane decides lanes of HTTP requests only';
    issues.warn(joinPath(specPath, [key]), `is ignored: ${why}`);
  }
}

/**
 * The route fields a TrafficRouter inherits from a VirtualService: those acting after the lane is
 * chosen are warned about by name; those graylane cannot honour are refused with why.
 */
function checkIstioFields(route: Route, routePath: string, issues: IssueList): boolean {
  let ok = true;
  const fields = route as Record<string, unknown>;
  for (const key of ROUTE_WARNED) {
    if (key !== 'name' && fields[key] !== undefined) issues.warn(joinPath(routePath, [key]), 'is ignored: it acts after the lane is chosen');
  }
  for (const [key, why] of Object.entries(ROUTE_REFUSED)) {
    if (fields[key] === undefined) continue;
    issues.error(joinPath(routePath, [key]), `cannot be honoured: it ${why}`);
    ok = false;
  }
  route.route.forEach((entry, d) => {
    if (entry.headers !== undefined) issues.warn(joinPath(routePath, ['route', d, 'headers']), 'is ignored: it acts after the lane is chosen');
    if (entry.destination.port !== undefined) issues.warn(joinPath(routePath, ['route', d, 'destination', 'port']), 'is ignored: graylane picks the port from the registry');
  });
  (route.match ?? []).forEach((match, m) => {
    const matchPath = joinPath(routePath, ['match', m]);
    const fields = match as Record<string, unknown>;
    if (fields.statPrefix !== undefined) issues.warn(joinPath(matchPath, ['statPrefix']), 'is ignored: Envoy statistics');
    const refused: Record<string, string> = {
      ...MATCH_REFUSED,
      withoutHeaders: 'is not read for TrafficRouter; write the matching values under headers, or use an Istio VirtualService',
      authority: 'is not read for TrafficRouter; use an Istio VirtualService, or a native host condition',
      ignoreUriCase: 'is not read for TrafficRouter; write uri as a regex starting with (?i)',
    };
    for (const [key, why] of Object.entries(refused)) {
      if (fields[key] === undefined) continue;
      issues.error(joinPath(matchPath, [key]), `cannot be honoured: it ${why}`);
      ok = false;
    }
  });
  return ok;
}

/** OR of the route's match entries; no entries means every request. */
function routeCondition(matches: readonly HttpMatch[], path: string, issues: IssueList): Condition | undefined {
  const alternatives: Condition[] = [];
  let ok = true;
  matches.forEach((match, i) => {
    const predicates = matchPredicates(match, joinPath(path, [i]), issues);
    if (predicates) alternatives.push(predicates.length === 1 ? predicates[0]! : { all: predicates });
    else ok = false;
  });
  if (!ok) return undefined;
  if (alternatives.length === 0) return { all: [] };
  return alternatives.length === 1 ? alternatives[0]! : { any: alternatives };
}

function matchPredicates(match: HttpMatch, path: string, issues: IssueList): Predicate[] | undefined {
  const out: (Predicate | undefined)[] = [];
  for (const [name, value] of Object.entries(match.headers ?? {})) {
    out.push(stringPredicate('header', name, value, joinPath(path, ['headers', name]), issues));
  }
  for (const [name, value] of Object.entries(match.queryParams ?? {})) {
    out.push(stringPredicate('query', name, value, joinPath(path, ['queryParams', name]), issues));
  }
  if (match.uri) out.push(stringPredicate('path', undefined, match.uri, joinPath(path, ['uri']), issues));
  if (match.method) out.push(stringPredicate('method', undefined, match.method, joinPath(path, ['method']), issues));
  return out.every((p) => p !== undefined) ? (out as Predicate[]) : undefined;
}

/**
 * One `exact` / `prefix` / `regex` string match on a field. A TrafficRouter is an Istio
 * VirtualService, so `regex` is Envoy's: RE2, matching the whole value (`^(?:...)$`), as the Istio
 * importer reads it too.
 */
export function stringPredicate(
  type: FieldType,
  name: string | undefined,
  match: StringMatch,
  path: string,
  issues: IssueList,
): Predicate | undefined {
  const given = (['exact', 'prefix', 'regex'] as const).filter((key) => match[key] !== undefined);
  if (given.length !== 1) {
    issues.error(path, `must set exactly one of exact, prefix, regex (got ${given.length === 0 ? 'none' : given.join(', ')})`);
    return undefined;
  }
  const key = given[0]!;
  const value = match[key]!;
  const keys = { name: 'name', value: key };
  if (key === 'regex') return toPredicate({ type, name, operator: 'regex', value: `^(?:${value})$` }, path, issues, keys);
  return toPredicate({ type, name, operator: key === 'exact' ? '==' : key, value }, path, issues, keys);
}

/** Each destination's weight: 100 for a lone destination, else as given (they must add up to 100). */
function routeWeights(
  route: readonly { destination: { weight?: number | undefined }; weight?: number | undefined }[],
  path: string,
  issues: IssueList,
): number[] | undefined {
  const weights: number[] = [];
  let ok = true;
  route.forEach((entry, i) => {
    if (entry.weight !== undefined && entry.destination.weight !== undefined) {
      issues.error(joinPath(path, [i, 'weight']), 'weight is given twice (here and in destination); keep one');
      ok = false;
    }
    const weight = entry.weight ?? entry.destination.weight;
    if (weight === undefined && route.length > 1) {
      issues.error(joinPath(path, [i, 'weight']), 'is required when a route has several destinations');
      ok = false;
    }
    weights.push(route.length === 1 ? 100 : (weight ?? 0));
  });
  const total = weights.reduce((a, b) => a + b, 0);
  if (ok && route.length > 1 && total !== 100) {
    issues.error(path, `destination weights add up to ${total}; they must add up to 100`);
    ok = false;
  }
  return ok ? weights : undefined;
}

function checkHost(host: string, hosts: readonly string[], path: string, issues: IssueList): void {
  if (!hosts.includes(host) && !hosts.includes('*')) {
    issues.error(path, `"${host}" is not one of spec.hosts (${hosts.join(', ')}); graylane routes between lanes of one service`);
  }
}

function conjuncts(condition: Condition): readonly Condition[] {
  return 'all' in condition ? condition.all : [condition];
}
