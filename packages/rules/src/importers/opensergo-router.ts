import * as z from 'zod';
import { BASE_LANE } from '@graylane/core';
import { joinPath } from '../model/issues.js';
import type { IssueList } from '../model/issues.js';
import { metadataSchema } from '../model/schema.js';
import type { Condition, FieldType, Predicate } from '../model/types.js';
import { strict, validate } from '../model/validate.js';
import { toPredicate } from '../compile/conditions.js';
import { emptyContribution } from '../compile/fragment.js';
import type { DocumentContribution } from '../compile/fragment.js';
import { OPENSERGO_API_VERSION } from './opensergo-labels.js';

const stringMatchSchema = strict({
  exact: z.string().optional(),
  prefix: z.string().optional(),
  regex: z.string().optional(),
});

const httpMatchSchema = strict({
  name: z.string().optional(),
  headers: z.record(z.string(), stringMatchSchema).optional(),
  queryParams: z.record(z.string(), stringMatchSchema).optional(),
  uri: stringMatchSchema.optional(),
  method: stringMatchSchema.optional(),
});

const destinationSchema = strict({
  host: z.string().min(1),
  subset: z.string().optional(),
  weight: z.int().min(0).max(100).optional(),
  fallback: strict({ host: z.string().min(1), subset: z.string().optional() }).optional(),
});

const trafficRouterSchema = strict({
  apiVersion: z.literal(OPENSERGO_API_VERSION),
  kind: z.literal('TrafficRouter'),
  metadata: metadataSchema.optional(),
  spec: strict({
    hosts: z.array(z.string().min(1)).min(1),
    http: z
      .array(
        strict({
          name: z.string().optional(),
          match: z.array(httpMatchSchema).optional(),
          route: z.array(strict({ destination: destinationSchema, weight: z.int().min(0).max(100).optional() })).min(1),
        }),
      )
      .min(1),
  }),
});

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
  const router = validate(trafficRouterSchema, doc, path, issues);
  if (!router) return out;
  const hosts = router.spec.hosts;
  const entries = hosts.includes('*') ? undefined : hosts;
  let priority = 0;
  router.spec.http.forEach((route, r) => {
    const routePath = joinPath(path, ['spec', 'http', r]);
    const condition = routeCondition(route.match ?? [], joinPath(routePath, ['match']), issues);
    const weights = routeWeights(route.route, joinPath(routePath, ['route']), issues);
    if (!condition || !weights) return;
    let cumulative = 0;
    route.route.forEach(({ destination }, d) => {
      const destinationPath = joinPath(routePath, ['route', d, 'destination']);
      const weight = weights[d]!;
      cumulative += weight;
      checkHost(destination.host, hosts, joinPath(destinationPath, ['host']), issues);
      const tag = destination.subset ?? BASE_LANE;
      const fallback = destination.fallback;
      if (fallback) {
        checkHost(fallback.host, hosts, joinPath(destinationPath, ['fallback', 'host']), issues);
        if (tag === BASE_LANE) issues.error(joinPath(destinationPath, ['fallback']), 'base has no fallback; remove it');
      }
      if (weight === 0) return;
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

/** One `exact` / `prefix` / `regex` string match on a field (shared with the Istio importer). */
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
  const operator = key === 'exact' ? '==' : key;
  return toPredicate({ type, name, operator, value }, path, issues, { name: 'name', value: key });
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
