import { compileMatcher, requestView } from '@graylane/matcher';
import type { ExplainedRule, RequestParts } from '@graylane/matcher';
import { constantAttributes } from '../attributes.js';
import { ExitCode, HELP_OPTION, JSON_OPTION, UsageError, parseCommandLine } from '../command.js';
import type { Command, Context } from '../command.js';
import { openLaneStore } from '../lane-store.js';
import { applyLaneStore } from '@graylane/rules';
import type { LaneStore } from '@graylane/rules';
import { nativeCondition } from '../native.js';
import { readRuleFile } from '../rules-file.js';
import { ROUTE_HELP, describeHop, fleetPolicy, routeHops } from '../route.js';
import type { HopRoute } from '../route.js';
import { TRUST_HELP, TRUST_OPTIONS, describeDecision, explainEntry } from '../entry-explain.js';

const options = {
  ...HELP_OPTION,
  ...JSON_OPTION,
  url: { type: 'string' },
  method: { type: 'string' },
  host: { type: 'string' },
  header: { type: 'string', multiple: true },
  cookie: { type: 'string', multiple: true },
  entry: { type: 'string' },
  attribute: { type: 'string', multiple: true },
  bucket: { type: 'string' },
  ...TRUST_OPTIONS,
  route: { type: 'string' },
} as const;

const help = `Usage: graylane rules explain <file> --url <url> [options]

Says which lane a request keeps or gets, and why, making the decision the service or gateway
makes (createEntryDecision of @graylane/context): a valid lane token, else the lane carried by a
trusted client (x-mse-tag, baggage lane=, OpenSergo carriers), else the rules in <file>, else
base; carried lanes and tokens that are not trusted are named with the reason, with the headers the
entry removes or writes. Also lists the rules whose condition held but whose lane's percentage
turned the request away.

Options:
  --url <url>            path and query ('/a?group=gray') or an absolute URL (required)
  --method <method>      default GET
  --host <host>          default: the URL's host, else the Host header
  --header <name:value>  a request header (repeatable)
  --cookie <name=value>  a cookie (repeatable)
  --entry <app>          the app deciding the lane; rules scoped to other entries are left out
  --attribute <name=value>
                         the value of an attribute the rules read (repeatable); others are absent
  --bucket <0-99>        the request's random bucket for random percentages; default drawn at random
${TRUST_HELP}
  --route <a,b,c>        then, against the live fleet: where the request in its lane would go now
                         at each of these hops (as \`graylane route\` says: instance, fallback, why)

With a lane store named (GRAYLANE_LANES_FILE or GRAYLANE_LANES_DATA_ID, as the services have
it), its lane objects are applied first, as services apply them: a lane's rule from the store,
and no request colored into a disabled or expired lane.

${ROUTE_HELP}
  --json                 print the explanation as JSON
  -h, --help             show this help

Exit codes: 0 explained, 1 the rules are invalid or unreadable, --trust networks or token keys
are invalid, the registry or lane store failed, or a --route hop has no instance, 2 usage.`;

/** `graylane rules explain <file> --url ...`. */
export const rulesExplain: Command = {
  name: ['rules', 'explain'],
  summary: 'which lane a request gets, and which rule decided',
  help,

  async run(argv, context) {
    const parsed = parseCommandLine(argv, options, help, context);
    if (!parsed) return ExitCode.OK;
    const { values, positionals } = parsed;
    if (positionals.length !== 1) throw new UsageError('name exactly one rule file');
    if (values.url === undefined) throw new UsageError('--url is required');
    const parts = requestParts(values.url, values);
    const request = requestView(parts);
    const bucket = values.bucket === undefined ? undefined : parseBucket(values.bucket);
    const file = await readRuleFile(positionals[0]!, context);
    const lanesStore = await laneObjects(context);
    const rules = lanesStore ? applyLaneStore(file.rules, lanesStore.store) : file.rules;
    const matcher = compileMatcher(rules, {
      attributes: constantAttributes(rules, new Map((values.attribute ?? []).map((pair) => split(pair, '=', '--attribute')))),
      ...(values.entry === undefined ? {} : { entry: values.entry }),
      // The middle of the bucket, so that flooring `random() * 100` gives the bucket back exactly.
      ...(bucket === undefined ? {} : { random: () => (bucket + 0.5) / 100 }),
    });
    const ruled = matcher.explain(request);
    const entry = await explainEntry(parts.headers, ruled.lane, values, context);
    // A rule is the reason only when the rules were consulted; a trusted carrier or a token wins over them.
    const rule = entry.rulesApplied ? ruled.rule : undefined;
    const { notAdmitted } = ruled;
    let hops: HopRoute[] | undefined;
    let registry: string | undefined;
    if (values.route !== undefined) {
      const services = values.route.split(',').map((item) => item.trim()).filter(Boolean);
      if (services.length === 0) throw new UsageError('--route names the services of the chain, comma-separated');
      const fleet = await fleetPolicy(context, undefined, { text: file.text, from: `file ${positionals[0]!}` });
      ({ hops, registry } = await routeHops(context, services, entry.lane, fleet));
    }
    if (values.json) {
      const json = {
        lane: entry.lane ?? 'base',
        decidedBy: entry.decidedBy,
        rule: rule ? explained(rule) : null,
        notAdmitted: entry.rulesApplied ? notAdmitted.map(explained) : [],
        hop: entry.hop,
        trust: entry.trust,
        client: entry.client ?? null,
        carried: entry.carried ?? null,
        trusted: entry.trusted,
        rejected: entry.rejected,
        rulesApplied: entry.rulesApplied,
        rulesLane: entry.rulesApplied ? (ruled.lane ?? 'base') : null,
        forwarded: entry.forwarded,
        laneStore: lanesStore?.where ?? null,
        ...(hops ? { registry, route: hops } : {}),
      };
      context.out(JSON.stringify(json, null, 2));
      return exitOf(hops);
    }
    const unmatched = entry.decidedBy === 'none' && entry.rulesApplied && !ruled.rule;
    context.out(`lane: ${entry.lane ?? 'base'}${unmatched ? ' (no rule matched)' : ''}`);
    if (rule) context.out(`rule: ${describe(rule)}`);
    const told = entry.carried !== undefined || entry.rejected.length > 0 || entry.hop === 'inner' || entry.decidedBy === 'token' || entry.decidedBy === 'carrier';
    if (told) context.out(describeDecision(entry, rule && `lane "${rule.tag}" match[${rule.ruleIndex}]`));
    for (const reason of entry.rejected) context.out(reason);
    if (!entry.rulesApplied) context.out(entry.hop === 'inner' ? 'rules: not applied at an inner hop' : 'rules: not consulted (the trusted lane wins)');
    if (told) for (const [name, value] of Object.entries(entry.forwarded)) context.out(value === null ? `forwarded without ${name}` : `forwarded with ${name}: ${value}`);
    if (entry.rulesApplied && notAdmitted.length > 0) context.out(`turned away by their lane's percentage:`);
    if (entry.rulesApplied) for (const other of notAdmitted) context.out(`  ${describe(other)}`);
    if (lanesStore) context.out(`lane objects applied from ${lanesStore.where}`);
    if (hops) {
      context.out(`route now (${registry} registry):`);
      for (const hop of hops) for (const line of describeHop(hop)) context.out(`  ${line}`);
    }
    return exitOf(hops);
  },
};

function requestParts(url: string, values: { method?: string; host?: string; header?: string[]; cookie?: string[] }): RequestParts & { readonly headers: Record<string, string[]> } {
  let parsed: URL;
  try {
    parsed = new URL(url, 'http://relative.invalid');
  } catch {
    throw new UsageError(`--url ${JSON.stringify(url)} is not a URL or a path`);
  }
  const headers: Record<string, string[]> = {};
  for (const [name, value] of (values.header ?? []).map((pair) => split(pair, ':', '--header'))) {
    (headers[name.toLowerCase()] ??= []).push(value);
  }
  const query: Record<string, string> = {};
  for (const [name, value] of parsed.searchParams) query[name] ??= value;
  const host = values.host ?? (parsed.hostname === 'relative.invalid' ? undefined : parsed.hostname);
  return {
    method: values.method ?? 'GET',
    path: parsed.pathname,
    ...(host === undefined ? {} : { host }),
    headers,
    query,
    cookies: Object.fromEntries((values.cookie ?? []).map((pair) => split(pair, '=', '--cookie'))),
  };
}

/** 1 when a hop of `--route` has no instance to go to. */
function exitOf(hops: readonly HopRoute[] | undefined): ExitCode {
  return hops?.some((hop) => hop.error !== null) ? ExitCode.FAILURE : ExitCode.OK;
}

/** The lane store the environment names, read once; `undefined` when none is named. */
async function laneObjects(context: Context): Promise<{ where: string; store: LaneStore } | undefined> {
  if (!context.env['GRAYLANE_LANES_FILE']?.trim() && !context.env['GRAYLANE_LANES_DATA_ID']?.trim()) return undefined;
  const access = await openLaneStore(context);
  try {
    return { where: access.where, store: await access.read() };
  } finally {
    await access.close();
  }
}

/** `name<separator>value`, both trimmed; the name must not be empty. */
function split(pair: string, separator: string, option: string): [string, string] {
  const at = pair.indexOf(separator);
  const name = at < 0 ? '' : pair.slice(0, at).trim();
  if (name === '') throw new UsageError(`${option} takes name${separator}value, got ${JSON.stringify(pair)}`);
  return [name, pair.slice(at + 1).trim()];
}

function parseBucket(text: string): number {
  const bucket = Number(text);
  if (!Number.isInteger(bucket) || bucket < 0 || bucket > 99) throw new UsageError(`--bucket takes an integer 0-99, got ${JSON.stringify(text)}`);
  return bucket;
}

/** `ruleIndex` -1 is the implicit rule of a lane with a percentage and no match rules. */
function describe(rule: ExplainedRule): string {
  if (rule.ruleIndex < 0) return `lane "${rule.tag}" (percentage only, no match rules), priority ${rule.priority}`;
  return `lane "${rule.tag}" match[${rule.ruleIndex}], priority ${rule.priority}: ${JSON.stringify(nativeCondition(rule.condition))}`;
}

function explained(rule: ExplainedRule) {
  return { ...rule, condition: rule.ruleIndex < 0 ? null : nativeCondition(rule.condition) };
}
