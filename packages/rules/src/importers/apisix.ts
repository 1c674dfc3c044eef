import { BASE_LANE, isValidLane } from '@graylane/core';
import { joinPath, show } from '../model/issues.js';
import { IssueList } from '../model/issues.js';
import type { PredicateDoc } from '../model/schema.js';
import type { Condition, Predicate } from '../model/types.js';
import { toPredicate } from '../compile/conditions.js';
import { emptyContribution } from '../compile/fragment.js';
import type { DocumentContribution, LaneFragment } from '../compile/fragment.js';

/**
 * Apache APISIX routes (Admin API `/apisix/admin/routes` objects, the `routes:` list of a standalone
 * `apisix.yaml`, or an Admin API answer `{key, value}` / `{list: [{key, value}]}`).
 *
 * How a route names a lane (graylane's convention, documented in docs/reference/rules.md):
 * - `labels.lane: <lane>`: the requests the route matches (`uri`/`uris`, `methods`, `host`/`hosts`,
 *   `vars`) go to that lane;
 * - `plugins.traffic-split.rules[]`: each rule's `match[].vars` (OR'ed, AND'ed with the route's own
 *   match) splits traffic by `weight` among `weighted_upstreams`; an entry with an inline
 *   `upstream.name` sends its share to the lane of that name, an entry without `upstream` to the
 *   route's own lane (`labels.lane`, else base).
 * APISIX's `priority` (higher first, default 0) becomes graylane's (lower first): `-priority * 1000`
 * plus the rule's position in the route, so traffic-split rules run before the route's own lane.
 */

/** The label key that names a route's lane. */
export const APISIX_LANE_LABEL = 'lane';

const ROUTE_FIELDS = new Set(['uri', 'uris', 'methods', 'host', 'hosts', 'vars', 'priority', 'labels', 'status', 'plugins']);
const ROUTE_WARNED: Record<string, string> = {
  id: 'informative',
  name: 'informative',
  desc: 'informative',
  upstream: 'the route’s backend; graylane picks instances from the registry',
  upstream_id: 'the route’s backend; graylane picks instances from the registry',
  service_id: 'the route’s backend; graylane picks instances from the registry',
  service_protocol: 'a transport setting',
  plugin_config_id: 'plugins of another object, which graylane cannot read',
  timeout: 'a transport setting',
  enable_websocket: 'a transport setting',
  create_time: 'set by the Admin API',
  update_time: 'set by the Admin API',
};
const ROUTE_REFUSED: Record<string, string> = {
  remote_addr: 'graylane does not decide lanes by client address; remove it or decide by a header the edge sets',
  remote_addrs: 'graylane does not decide lanes by client address; remove it or decide by a header the edge sets',
  filter_func: 'is Lua code, which graylane cannot run; express it as vars',
  script: 'is Lua code, which graylane cannot run; express it as vars and traffic-split',
};
const ADMIN_WARNED = new Set(['key', 'createdIndex', 'modifiedIndex']);

/** True when `doc` looks like APISIX routes: a route, a standalone config, or an Admin API answer. */
export function isApisix(doc: Record<string, unknown>): boolean {
  if (Array.isArray(doc.routes)) return true;
  if (Array.isArray(doc.list) || (typeof doc.key === 'string' && doc.key.startsWith('/apisix/'))) return true;
  return 'uri' in doc || 'uris' in doc || ('vars' in doc && ('plugins' in doc || 'labels' in doc || 'upstream' in doc));
}

/** Imports every APISIX route in `doc` (see the module comment). */
export function importApisix(doc: Record<string, unknown>, path: string, issues: IssueList): DocumentContribution {
  const out = emptyContribution();
  if (Array.isArray(doc.routes)) {
    for (const key of Object.keys(doc)) {
      if (key !== 'routes') issues.warn(joinPath(path, [key]), `is ignored: graylane reads only routes of an apisix.yaml`);
    }
    doc.routes.forEach((route, i) => importRoute(route, joinPath(path, ['routes', i]), issues, out));
  } else if (Array.isArray(doc.list)) {
    for (const key of Object.keys(doc)) {
      if (key !== 'list') issues.warn(joinPath(path, [key]), 'is ignored: an Admin API list field');
    }
    doc.list.forEach((item, i) => importAdminItem(item, joinPath(path, ['list', i]), issues, out));
  } else if (typeof doc.key === 'string' && 'value' in doc) {
    importAdminItem(doc, path, issues, out);
  } else {
    importRoute(doc, path, issues, out);
  }
  return out;
}

function importAdminItem(item: unknown, path: string, issues: IssueList, out: DocumentContribution): void {
  if (!isRecord(item) || !('value' in item)) {
    issues.error(path, 'expected an Admin API item {key, value}');
    return;
  }
  for (const key of Object.keys(item)) {
    if (ADMIN_WARNED.has(key)) issues.warn(joinPath(path, [key]), 'is ignored: set by the Admin API');
    else if (key !== 'value') issues.error(joinPath(path, [key]), 'is not a field of an Admin API item (key, value, createdIndex, modifiedIndex)');
  }
  importRoute(item.value, joinPath(path, ['value']), issues, out);
}

function importRoute(input: unknown, path: string, issues: IssueList, out: DocumentContribution): void {
  if (!isRecord(input)) {
    issues.error(path, `expected an APISIX route (an object), got ${show(input)}`);
    return;
  }
  const route = input;
  let ok = true;
  for (const key of Object.keys(route)) {
    const at = joinPath(path, [key]);
    if (ROUTE_FIELDS.has(key)) continue;
    if (Object.hasOwn(ROUTE_WARNED, key)) issues.warn(at, `is ignored: ${ROUTE_WARNED[key]}`);
    else if (Object.hasOwn(ROUTE_REFUSED, key)) {
      issues.error(at, `cannot be honoured: it ${ROUTE_REFUSED[key]}`);
      ok = false;
    } else {
      issues.error(at, `is not a field of an APISIX route (${[...ROUTE_FIELDS, ...Object.keys(ROUTE_WARNED)].join(', ')})`);
      ok = false;
    }
  }
  const priority = integer(route.priority, joinPath(path, ['priority']), issues, 0);
  const base = routeConditions(route, path, issues);
  const lane = routeLane(route.labels, joinPath(path, ['labels']), issues);
  const split = trafficSplit(route.plugins, joinPath(path, ['plugins']), issues);
  if (!ok || priority === undefined || !base || lane === null || !split) return;
  if (route.status === 0) return; // a disabled route matches nothing
  let position = 0;
  const add = (tag: string, rulePath: string, conditions: readonly Condition[]): void => {
    if (position >= 1000) {
      issues.error(rulePath, 'a route gives more than 1000 lane rules; split it into several routes');
      return;
    }
    const all = [...base, ...conditions];
    const fragment: LaneFragment = {
      tag,
      path: rulePath,
      declared: false,
      settings: {},
      origins: {},
      rules: [{ path: rulePath, priority: -priority * 1000 + position++, entries: undefined, condition: all.length === 1 ? all[0]! : { all } }],
    };
    out.lanes.push(fragment);
  };
  for (const rule of split) {
    for (const target of rule.targets) add(target.lane ?? lane ?? BASE_LANE, target.path, [...rule.match, ...target.share]);
  }
  if (lane !== undefined) add(lane, path, []);
  else if (split.length === 0) issues.warn(path, `names no lane (labels.${APISIX_LANE_LABEL}, or a traffic-split upstream name): the route decides nothing`);
}

function routeConditions(route: Record<string, unknown>, path: string, issues: IssueList): Condition[] | undefined {
  const out: Condition[] = [];
  let ok = true;
  const uris = listOf(route, 'uri', 'uris', path, issues);
  const hosts = listOf(route, 'host', 'hosts', path, issues);
  if (!uris || !hosts) return undefined;
  const methods = route.methods;
  if (uris.length > 0) out.push(anyOf(uris.map((uri) => uriPredicate(uri))));
  if (hosts.length > 0) out.push(anyOf(hosts.map((host) => hostPredicate(host))));
  if (methods !== undefined) {
    if (Array.isArray(methods) && methods.every((m) => typeof m === 'string') && methods.length > 0) {
      out.push({ type: 'method', name: '', operator: 'in', values: [...new Set(methods.map((m) => m.toUpperCase()))] });
    } else {
      issues.error(joinPath(path, ['methods']), 'expected a list of HTTP methods');
      ok = false;
    }
  }
  if (route.vars !== undefined) {
    const condition = varsCondition(route.vars, joinPath(path, ['vars']), issues);
    if (condition) out.push(condition);
    else ok = false;
  }
  return ok ? out : undefined;
}

/** `/a/*` is a prefix match in APISIX's radixtree; anything else is exact. */
function uriPredicate(uri: string): Predicate {
  return uri.endsWith('*')
    ? { type: 'path', name: '', operator: 'prefix', value: uri.slice(0, -1) }
    : { type: 'path', name: '', operator: '==', value: uri };
}

/** `*.example.com` matches any subdomain; anything else is exact (host names are case-insensitive). */
function hostPredicate(host: string): Predicate {
  const lower = host.toLowerCase();
  return lower.startsWith('*.')
    ? { type: 'host', name: '', operator: 'suffix', value: lower.slice(1) }
    : { type: 'host', name: '', operator: '==', value: lower };
}

function listOf(route: Record<string, unknown>, one: string, many: string, path: string, issues: IssueList): string[] | undefined {
  if (route[one] !== undefined && route[many] !== undefined) {
    issues.error(joinPath(path, [many]), `${one} and ${many} are both given; APISIX takes one of them`);
    return undefined;
  }
  const value = route[one] ?? route[many];
  if (value === undefined) return [];
  const list = route[one] !== undefined ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((item) => typeof item === 'string' && item.length > 0)) {
    issues.error(joinPath(path, [route[one] !== undefined ? one : many]), route[one] !== undefined ? 'expected a non-empty string' : 'expected a non-empty list of strings');
    return undefined;
  }
  return list as string[];
}

/** The lane of `labels.lane`; `undefined` when none; `null` after recording an issue. */
function routeLane(labels: unknown, path: string, issues: IssueList): string | undefined | null {
  if (labels === undefined) return undefined;
  if (!isRecord(labels)) {
    issues.error(path, 'expected an object of string labels');
    return null;
  }
  for (const key of Object.keys(labels)) {
    if (key !== APISIX_LANE_LABEL) issues.warn(joinPath(path, [key]), `is ignored: only the label "${APISIX_LANE_LABEL}" names a lane`);
  }
  const lane = labels[APISIX_LANE_LABEL];
  if (lane === undefined) return undefined;
  return laneName(lane, joinPath(path, [APISIX_LANE_LABEL]), issues) ?? null;
}

function laneName(value: unknown, path: string, issues: IssueList): string | undefined {
  if (typeof value === 'string' && isValidLane(value)) return value;
  issues.error(path, `${show(value)} is not a valid lane: use 1-63 characters of A-Z a-z 0-9 . _ -, starting and ending with a letter or digit`);
  return undefined;
}

interface SplitTarget {
  readonly lane: string | undefined;
  readonly path: string;
  readonly share: readonly Condition[];
}
interface SplitRule {
  readonly match: readonly Condition[];
  readonly targets: readonly SplitTarget[];
}

const UPSTREAM_WARNED = new Set([
  'type', 'hash_on', 'key', 'nodes', 'timeout', 'pass_host', 'upstream_host', 'scheme', 'retries', 'retry_timeout',
  'keepalive_pool', 'tls', 'checks', 'discovery_type', 'service_name', 'discovery_args', 'desc', 'labels', 'id',
]);

function trafficSplit(plugins: unknown, path: string, issues: IssueList): SplitRule[] | undefined {
  if (plugins === undefined) return [];
  if (!isRecord(plugins)) {
    issues.error(path, 'expected an object of plugins');
    return undefined;
  }
  for (const key of Object.keys(plugins)) {
    if (key !== 'traffic-split') issues.warn(joinPath(path, [key]), 'is ignored: graylane reads only the traffic-split plugin');
  }
  const plugin = plugins['traffic-split'];
  if (plugin === undefined) return [];
  const pluginPath = joinPath(path, ['traffic-split']);
  if (!isRecord(plugin) || !Array.isArray(plugin.rules)) {
    issues.error(pluginPath, 'expected {rules: [...]}');
    return undefined;
  }
  for (const key of Object.keys(plugin)) {
    if (key === '_meta') issues.warn(joinPath(pluginPath, [key]), 'is ignored: plugin metadata (priority, filter) graylane does not use');
    else if (key !== 'rules') issues.error(joinPath(pluginPath, [key]), 'is not a field of traffic-split (rules, _meta)');
  }
  if (isRecord(plugin._meta) && plugin._meta.disable === true) return [];
  const out: SplitRule[] = [];
  let ok = true;
  plugin.rules.forEach((rule, r) => {
    const rulePath = joinPath(pluginPath, ['rules', r]);
    const split = splitRule(rule, rulePath, issues);
    if (split) out.push(split);
    else ok = false;
  });
  return ok ? out : undefined;
}

function splitRule(rule: unknown, path: string, issues: IssueList): SplitRule | undefined {
  if (!isRecord(rule)) {
    issues.error(path, 'expected {match, weighted_upstreams}');
    return undefined;
  }
  for (const key of Object.keys(rule)) {
    if (key !== 'match' && key !== 'weighted_upstreams') issues.error(joinPath(path, [key]), 'is not a field of a traffic-split rule (match, weighted_upstreams)');
  }
  let ok = Object.keys(rule).every((key) => key === 'match' || key === 'weighted_upstreams');
  const alternatives: Condition[] = [];
  if (rule.match !== undefined) {
    if (!Array.isArray(rule.match)) {
      issues.error(joinPath(path, ['match']), 'expected a list of {vars}');
      return undefined;
    }
    rule.match.forEach((match, m) => {
      const matchPath = joinPath(path, ['match', m]);
      if (!isRecord(match) || Object.keys(match).some((key) => key !== 'vars')) {
        issues.error(matchPath, 'expected {vars: [...]}');
        ok = false;
        return;
      }
      const condition = match.vars === undefined ? { all: [] } : varsCondition(match.vars, joinPath(matchPath, ['vars']), issues);
      if (condition) alternatives.push(condition);
      else ok = false;
    });
  }
  const upstreams = rule.weighted_upstreams;
  const upstreamsPath = joinPath(path, ['weighted_upstreams']);
  if (!Array.isArray(upstreams) || upstreams.length === 0) {
    issues.error(upstreamsPath, 'is required: a non-empty list of {upstream, weight}');
    return undefined;
  }
  const entries: { lane: string | undefined; weight: number; path: string }[] = [];
  upstreams.forEach((entry, u) => {
    const entryPath = joinPath(upstreamsPath, [u]);
    if (!isRecord(entry)) {
      issues.error(entryPath, 'expected {upstream, weight}');
      ok = false;
      return;
    }
    let lane: string | undefined;
    for (const key of Object.keys(entry)) {
      if (key === 'upstream_id') {
        issues.error(joinPath(entryPath, [key]), `cannot be followed: graylane does not read upstream objects; write upstream: {name: <lane>} inline`);
        ok = false;
      } else if (key !== 'upstream' && key !== 'weight') {
        issues.error(joinPath(entryPath, [key]), 'is not a field of a weighted upstream (upstream, upstream_id, weight)');
        ok = false;
      }
    }
    if (entry.upstream !== undefined) {
      const upstreamPath = joinPath(entryPath, ['upstream']);
      if (!isRecord(entry.upstream) || entry.upstream.name === undefined) {
        issues.error(upstreamPath, 'needs a name: the lane this share goes to');
        ok = false;
      } else {
        for (const key of Object.keys(entry.upstream)) {
          if (UPSTREAM_WARNED.has(key)) issues.warn(joinPath(upstreamPath, [key]), 'is ignored: graylane picks the lane’s instances from the registry');
          else if (key !== 'name') issues.error(joinPath(upstreamPath, [key]), 'is not a field of an APISIX upstream');
        }
        lane = laneName(entry.upstream.name, joinPath(upstreamPath, ['name']), issues);
        if (lane === undefined) ok = false;
      }
    }
    const weight = entry.weight === undefined ? 1 : entry.weight;
    if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0) {
      issues.error(joinPath(entryPath, ['weight']), `must be a non-negative integer (got ${show(entry.weight)})`);
      ok = false;
      return;
    }
    entries.push({ lane, weight, path: entryPath });
  });
  if (!ok) return undefined;
  const total = entries.reduce((sum, entry) => sum + entry.weight, 0);
  if (total === 0) {
    issues.error(upstreamsPath, 'weights add up to 0; give at least one share a weight');
    return undefined;
  }
  const targets: SplitTarget[] = [];
  let cumulative = 0;
  for (const entry of entries) {
    if (entry.weight === 0) continue;
    cumulative += entry.weight;
    const exact = (cumulative * 100) / total;
    const percent = Math.round(exact);
    if (percent !== exact) issues.warn(joinPath(entry.path, ['weight']), `the share up to here, ${exact.toFixed(2)} %, is rounded to ${percent} % (graylane splits by whole percentages)`);
    const share: Condition[] = percent >= 100 ? [] : [{ operator: 'random', percentage: percent }];
    targets.push({ lane: entry.lane, path: entry.path, share });
  }
  const match = alternatives.length === 0 ? [] : [anyOf(alternatives)];
  return { match, targets };
}

/**
 * A lua-resty-expr expression: a list of `[var, op, value]` / `[var, '!', op, value]` AND'ed, or a
 * list whose first item is `AND`, `OR`, `!AND` or `!OR` over nested expressions.
 */
export function varsCondition(expr: unknown, path: string, issues: IssueList): Condition | undefined {
  return expression(expr, path, issues, false);
}

function expression(expr: unknown, path: string, issues: IssueList, negated: boolean): Condition | undefined {
  if (!Array.isArray(expr)) {
    issues.error(path, `expected a list of [var, operator, value] expressions, got ${show(expr)}`);
    return undefined;
  }
  let items: readonly unknown[] = expr;
  let kind: 'all' | 'any' = 'all';
  let start = 0;
  if (typeof expr[0] === 'string') {
    const logic = /^(!?)(AND|OR)$/.exec(expr[0]);
    if (!logic) return leaf(expr, path, issues, negated); // a single [var, op, value] at the top
    kind = logic[2] === 'AND' ? 'all' : 'any';
    if (logic[1] === '!') negated = !negated;
    start = 1;
    items = expr;
  }
  if (negated) kind = kind === 'all' ? 'any' : 'all'; // De Morgan
  const out: Condition[] = [];
  let ok = true;
  for (let i = start; i < items.length; i++) {
    const item = items[i];
    const itemPath = joinPath(path, [i]);
    const condition = Array.isArray(item) && typeof item[0] === 'string' && !/^!?(AND|OR)$/.test(item[0])
      ? leaf(item, itemPath, issues, negated)
      : expression(item, itemPath, issues, negated);
    if (condition) out.push(condition);
    else ok = false;
  }
  if (!ok) return undefined;
  if (out.length === 1) return out[0]!;
  return kind === 'all' ? { all: out } : { any: out };
}

const NUMBER = '^-?[0-9]+(\\.[0-9]+)?$';

function leaf(item: readonly unknown[], path: string, issues: IssueList, negated: boolean): Condition | undefined {
  let [name, operator, value] = item;
  let extra = item.length - 3;
  if (operator === '!') {
    negated = !negated;
    [, , operator, value] = item;
    extra = item.length - 4;
  }
  if (extra !== 0) {
    issues.error(path, 'expected [var, operator, value] or [var, "!", operator, value]');
    return undefined;
  }
  const field = variable(name, joinPath(path, [0]), issues);
  if (!field) return undefined;
  const opPath = joinPath(path, [item.length - 2]);
  const valuePath = joinPath(path, [item.length - 1]);
  const text = (v: unknown): string | undefined => (typeof v === 'string' || typeof v === 'number' ? String(v) : undefined);
  const predicate = (doc: PredicateDoc): Predicate | undefined => {
    const found = new IssueList(); // toPredicate names the value `.value`; here it is the list's last item
    const out = toPredicate(doc, valuePath, found);
    for (const issue of found.errors) issues.error(valuePath, issue.message);
    return out;
  };
  const absent = (): Predicate | undefined => predicate({ ...field, operator: 'not exists' });
  const orAbsent = (p: Predicate | undefined): Condition | undefined => {
    const a = absent();
    return a && p ? { any: [a, p] } : undefined;
  };
  switch (operator) {
    case '==':
    case '~=': {
      const v = text(value);
      if (v === undefined) return bad(valuePath, 'a string or number', value, issues);
      // lua-resty-expr: an absent variable is nil, so `nil ~= v` holds and `nil == v` does not.
      const equal = (operator === '==') !== negated;
      return equal ? predicate({ ...field, operator: '==', value: v }) : orAbsent(predicate({ ...field, operator: '!=', value: v }));
    }
    case '>':
    case '<':
    case '>=':
    case '<=': {
      const v = text(value);
      if (v === undefined || !new RegExp(NUMBER).test(v)) return bad(valuePath, 'a decimal number', value, issues);
      if (negated) {
        const opposite = { '>': '<=', '<': '>=', '>=': '<', '<=': '>' }[operator];
        issues.error(opPath, `"!" before "${operator}" also holds when the variable is absent or not a number, which graylane cannot express; write "${opposite}" instead`);
        return undefined;
      }
      // lua-resty-expr compares numbers only: a value that is not a number never matches.
      const number = predicate({ ...field, operator: 'regex', value: NUMBER });
      const compare = predicate({ ...field, operator, value: v });
      return number && compare ? { all: [number, compare] } : undefined;
    }
    case 'in': {
      if (!Array.isArray(value) || value.length === 0 || value.some((v) => text(v) === undefined)) {
        return bad(valuePath, 'a non-empty list of strings', value, issues);
      }
      const values = [...new Set(value.map((v) => text(v)!))];
      return negated ? orAbsent(predicate({ ...field, operator: 'not in', values })) : predicate({ ...field, operator: 'in', values });
    }
    case '~~':
    case '~*': {
      if (typeof value !== 'string') return bad(valuePath, 'a regular expression (a string)', value, issues);
      if (negated) {
        issues.error(opPath, `"!" before "${operator}" (a regex that must not match) cannot be expressed in graylane; write a pattern that must match`);
        return undefined;
      }
      return predicate({ ...field, operator: 'regex', value: operator === '~*' ? `(?i)${value}` : value });
    }
    case 'has':
      issues.error(opPath, '"has" tests membership in a list-valued variable; arg_*, http_* and cookie_* hold one string: write "==" or "in"');
      return undefined;
    case 'ipmatch':
      issues.error(opPath, '"ipmatch" tests the client address, which graylane does not decide lanes by; decide by a header the edge sets');
      return undefined;
    default:
      issues.error(opPath, `unknown operator ${show(operator)}; lua-resty-expr has ==, ~=, >, >=, <, <=, ~~, ~*, in, has, ipmatch, each optionally after "!"`);
      return undefined;
  }
}

function bad(path: string, expected: string, value: unknown, issues: IssueList): undefined {
  issues.error(path, `expected ${expected}, got ${show(value)}`);
  return undefined;
}

interface VarField {
  readonly type: 'header' | 'query' | 'cookie' | 'path' | 'method' | 'host';
  readonly name: string | undefined;
}

/** `arg_x` query, `http_x_y` header `x-y`, `cookie_x` cookie, `uri` path, `request_method`, `host`. */
function variable(name: unknown, path: string, issues: IssueList): VarField | undefined {
  if (typeof name !== 'string' || name.length === 0) {
    issues.error(path, `expected a variable name, got ${show(name)}`);
    return undefined;
  }
  const prefixed = /^(arg|http|cookie)_(.+)$/.exec(name);
  if (prefixed) {
    const [, kind, rest] = prefixed;
    if (kind === 'arg') return { type: 'query', name: rest! };
    if (kind === 'cookie') return { type: 'cookie', name: rest! };
    return { type: 'header', name: rest!.toLowerCase().replace(/_/g, '-') };
  }
  if (name === 'uri') return { type: 'path', name: undefined };
  if (name === 'request_method') return { type: 'method', name: undefined };
  if (name === 'host') return { type: 'host', name: undefined };
  if (name === 'request_uri') {
    issues.error(path, '"request_uri" includes the query string; match the path with "uri" and parameters with "arg_<name>"');
    return undefined;
  }
  issues.error(path, `"${name}" is not a request field graylane reads; use arg_<name>, http_<name>, cookie_<name>, uri, request_method or host`);
  return undefined;
}

function anyOf(conditions: readonly Condition[]): Condition {
  return conditions.length === 1 ? conditions[0]! : { any: conditions };
}

function integer(value: unknown, path: string, issues: IssueList, fallback: number): number | undefined {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isSafeInteger(value) && Math.abs(value) < 2 ** 40) return value;
  issues.error(path, `must be an integer (got ${show(value)})`);
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
