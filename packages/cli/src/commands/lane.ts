import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { laneLabel } from '@graylane/core';
import type { Instance } from '@graylane/core';
import { formatChain, toJUnit, verifyLane } from '@graylane/conformance';
import { isLaneActive, laneRuleFromExpression, parseRules } from '@graylane/rules';
import type { LaneObject, LaneStore } from '@graylane/rules';
import { ExitCode, HELP_OPTION, JSON_OPTION, UsageError, parseCommandLine } from '../command.js';
import type { Command, Context } from '../command.js';
import { changedBy, listInstances, openLaneStore, openRegistry, parseDuration, updateLane } from '../lane-store.js';

const STORE_HELP = `Lane store (where services read lane objects; the same variables as theirs):
  GRAYLANE_LANES_FILE     a JSON file, for local use
  GRAYLANE_LANES_DATA_ID  a Nacos config on NACOS_SERVER_ADDR (group GRAYLANE_LANES_GROUP,
                          default DEFAULT_GROUP; NACOS_NAMESPACE, NACOS_USERNAME, NACOS_PASSWORD)`;
const REGISTRY_HELP = `Registry: Nacos when NACOS_SERVER_ADDR is set, else the file registry (GRAYLANE_REGISTRY_DIR,
default the user's shared folder), as \`graylane lanes\` reads it.`;

const BY_OPTION = { by: { type: 'string' } } as const;

function onePositional(positionals: readonly string[], what = 'the lane'): string {
  if (positionals.length !== 1) throw new UsageError(`name ${what} (exactly one argument)`);
  return positionals[0]!;
}

function list(text: string | undefined): string[] {
  return (text ?? '').split(',').map((item) => item.trim()).filter(Boolean);
}

function describe(lane: LaneObject, now = Date.now()): string {
  const state = !lane.enabled ? 'disabled' : lane.expiresAt && !isLaneActive(lane, now) ? 'expired' : 'enabled';
  return `${lane.tag}: ${state}${lane.expiresAt ? `, expires ${lane.expiresAt}` : ''}${lane.promotedAt ? `, promoted ${lane.promotedAt}` : ''}; services ${lane.services.join(', ') || '(none)'}; changed by ${lane.changedBy} at ${lane.changedAt}`;
}

async function withStore<T>(context: Context, work: (store: LaneStore, access: Awaited<ReturnType<typeof openLaneStore>>) => Promise<T>): Promise<T> {
  const access = await openLaneStore(context);
  try {
    return await work(await access.read(), access);
  } finally {
    await access.close();
  }
}

// ---------------------------------------------------------------- create

const createOptions = { ...HELP_OPTION, ...JSON_OPTION, ...BY_OPTION, rule: { type: 'string' }, services: { type: 'string' }, expires: { type: 'string' } } as const;
const createHelp = `Usage: graylane lane create <lane> --rule <file|expression> [--services a,c] [--expires 2h] [--by who] [--json]

Creates lane <lane> in the lane store, enabled: the entry colors requests that match its rule into
it, and every service routes them to the lane's instances. The rule is a rule file (any form
\`graylane rules validate\` reads; its lanes tagged <lane> are used) or an expression
<header|query|cookie>:<name>=<value>, e.g. query:group=gray. It is validated first; nothing is
written when it is invalid or the lane exists.

Options:
  --rule <file|expr>  the lane's entry rule (required)
  --services a,c      the services deployed to the lane (status calls the lane complete when each has an instance)
  --expires <d>       the lane acts as disabled after 30m, 2h, 1d, ... or at an ISO 8601 time
  --by <who>          recorded as who changed it; default user@host
  --json              print the lane object as JSON

${STORE_HELP}

Exit codes: 0 created, 1 invalid rule, lane exists, or the store failed, 2 usage.`;

export const laneCreate: Command = {
  name: ['lane', 'create'],
  summary: 'create a lane (entry rule, services, expiry) in the lane store',
  help: createHelp,
  async run(argv, context) {
    const parsed = parseCommandLine(argv, createOptions, createHelp, context);
    if (!parsed) return ExitCode.OK;
    const { values, positionals } = parsed;
    const tag = onePositional(positionals);
    if (!values.rule) throw new UsageError('--rule is required');
    const now = Date.now();
    let expiresAt: string | undefined;
    if (values.expires) {
      const ms = parseDuration(values.expires);
      const at = ms !== undefined ? now + ms : Date.parse(values.expires);
      if (Number.isNaN(at)) throw new UsageError(`--expires: ${JSON.stringify(values.expires)} is neither a duration (30m, 2h, 1d) nor an ISO 8601 time`);
      expiresAt = new Date(at).toISOString();
    }
    const path = resolve(context.cwd, values.rule);
    const rule = existsSync(path) ? await readFile(path, 'utf8') : laneRuleFromExpression(tag, values.rule);
    if (rule === undefined) throw new UsageError(`--rule: ${values.rule} is neither a file nor an expression <header|query|cookie>:<name>=<value>`);
    parseRules(rule, { source: values.rule }); // throws with every issue
    const lane: LaneObject = {
      tag,
      rule,
      services: list(values.services),
      enabled: true,
      ...(expiresAt ? { expiresAt } : {}),
      changedBy: changedBy(values.by, context),
      changedAt: new Date(now).toISOString(),
    };
    return withStore(context, async (store, access) => {
      if (store.lanes.some((existing) => existing.tag === tag)) {
        context.err(`graylane: lane ${tag} exists in ${access.where}; use enable/disable, or cleanup first`);
        return ExitCode.FAILURE;
      }
      const next = { ...store, lanes: [...store.lanes, lane] };
      // Checked whole, as services will read it (a rule without a lane tagged <lane> is refused here).
      const { parseLaneStore, serializeLaneStore } = await import('@graylane/rules');
      parseLaneStore(serializeLaneStore(next), access.where);
      await access.write(next);
      if (values.json) context.out(JSON.stringify(lane, null, 2));
      else context.out(`created ${describe(lane)} in ${access.where}`);
      return ExitCode.OK;
    });
  },
};

// ---------------------------------------------------------------- enable, disable, promote

function switchCommand(word: 'enable' | 'disable' | 'promote', summary: string, change: (lane: LaneObject, at: string) => LaneObject, what: string): Command {
  const options = { ...HELP_OPTION, ...JSON_OPTION, ...BY_OPTION } as const;
  const help = `Usage: graylane lane ${word} <lane> [--by who] [--json]

${what}

${STORE_HELP}

Exit codes: 0 done, 1 no such lane or the store failed, 2 usage.`;
  return {
    name: ['lane', word],
    summary,
    help,
    async run(argv, context) {
      const parsed = parseCommandLine(argv, options, help, context);
      if (!parsed) return ExitCode.OK;
      const tag = onePositional(parsed.positionals);
      const at = new Date().toISOString();
      const by = changedBy(parsed.values.by, context);
      return withStore(context, async (store, access) => {
        let changed: LaneObject | undefined;
        const next = updateLane(store, tag, (lane) => (changed = { ...change(lane, at), changedBy: by, changedAt: at }));
        if (!next || !changed) {
          context.err(`graylane: no lane ${tag} in ${access.where}`);
          return ExitCode.FAILURE;
        }
        await access.write(next);
        if (parsed.values.json) context.out(JSON.stringify(changed, null, 2));
        else context.out(`${word}d ${describe(changed)}`.replace('promoted ', 'promoted: ').replace(/^(enable|disable)dd/, '$1d'));
        return ExitCode.OK;
      });
    },
  };
}

export const laneDisable = switchCommand('disable', 'turn a lane off: it routes like base at every hop', (lane) => ({ ...lane, enabled: false }),
  'Turns the lane off in one action: every service routes its requests like base, and the entry\ncolors no new request into it (applied within about a second).');
export const laneEnable = switchCommand('enable', 'turn a lane back on', (lane) => ({ ...lane, enabled: true }), 'Turns the lane back on.');
export const lanePromote = switchCommand('promote', 'mark a lane promoted (released to production), recorded in the store', (lane, at) => ({ ...lane, promotedAt: at }),
  'Marks the lane promoted, with who and when: its version was released to production. Routing\ndoes not change; disable and cleanup the lane once base runs the new version.');

// ---------------------------------------------------------------- status

interface ServiceStatus {
  readonly service: string;
  readonly lane: number;
  readonly laneHealthy: number;
  readonly base: number;
  readonly baseHealthy: number;
  readonly instances: ReadonlyArray<{ id: string; lane: string; healthy: boolean }>;
}

interface LaneStatus {
  readonly lane: string;
  readonly inStore: boolean;
  readonly active: boolean;
  readonly object?: LaneObject | undefined;
  readonly complete: boolean;
  readonly services: readonly ServiceStatus[];
}

async function laneStatuses(context: Context, store: LaneStore, tags: readonly string[], extra: readonly string[] = []): Promise<LaneStatus[]> {
  const opened = await openRegistry(context);
  try {
    const wanted = new Set([...store.lanes.filter((lane) => tags.includes(lane.tag)).flatMap((lane) => lane.services), ...extra, ...(await opened.services())]);
    const instances = await listInstances(opened.registry, [...wanted]);
    return tags.map((tag) => statusOf(tag, store.lanes.find((lane) => lane.tag === tag), instances));
  } finally {
    await opened.registry.close();
  }
}

function statusOf(tag: string, object: LaneObject | undefined, instances: readonly Instance[]): LaneStatus {
  const services = new Set([...(object?.services ?? []), ...instances.filter((instance) => instance.lane === tag).map((instance) => instance.service)]);
  const rows: ServiceStatus[] = [...services].sort().map((service) => {
    const mine = instances.filter((instance) => instance.service === service && (instance.lane === tag || instance.lane === undefined));
    const lane = mine.filter((instance) => instance.lane === tag);
    const base = mine.filter((instance) => instance.lane === undefined);
    const up = (list: Instance[]) => list.filter((instance) => instance.healthy && instance.enabled).length;
    return {
      service,
      lane: lane.length,
      laneHealthy: up(lane),
      base: base.length,
      baseHealthy: up(base),
      instances: mine.map((instance) => ({ id: instance.id, lane: laneLabel(instance.lane), healthy: instance.healthy && instance.enabled })),
    };
  });
  const listed = object?.services ?? [];
  const complete = listed.length > 0 && listed.every((service) => (rows.find((row) => row.service === service)?.laneHealthy ?? 0) > 0);
  return { lane: tag, inStore: object !== undefined, active: object ? isLaneActive(object) : false, object, complete, services: rows };
}

const statusOptions = { ...HELP_OPTION, ...JSON_OPTION } as const;
const statusHelp = `Usage: graylane lane status [<lane>] [--json]

The lanes of the lane store (or one lane), each with, per service, its instances in the lane and
in base and how many are healthy, and whether the lane is complete: every service listed for it
has a healthy instance in it.

${STORE_HELP}
${REGISTRY_HELP}

Exit codes: 0 listed (with <lane>: the lane exists and is complete), 1 with <lane>: no such lane or
it is incomplete; the store or registry failed, 2 usage.`;

export const laneStatus: Command = {
  name: ['lane', 'status'],
  summary: 'show lanes: per service, instances in the lane and in base, health, completeness',
  help: statusHelp,
  async run(argv, context) {
    const parsed = parseCommandLine(argv, statusOptions, statusHelp, context);
    if (!parsed) return ExitCode.OK;
    if (parsed.positionals.length > 1) throw new UsageError('name at most one lane');
    const one = parsed.positionals[0];
    return withStore(context, async (store) => {
      const statuses = await laneStatuses(context, store, one ? [one] : store.lanes.map((lane) => lane.tag));
      if (parsed.values.json) context.out(JSON.stringify(one ? statuses[0] : statuses, null, 2));
      else {
        for (const status of statuses) {
          context.out(status.object ? describe(status.object) : `${status.lane}: not in the lane store`);
          context.out(`  complete: ${status.complete ? 'yes' : 'no'}`);
          for (const row of status.services) context.out(`  ${row.service}: ${status.lane} ${row.laneHealthy}/${row.lane} healthy, base ${row.baseHealthy}/${row.base} healthy`);
        }
        if (statuses.length === 0) context.out('no lanes in the lane store');
      }
      if (one && !(statuses[0]?.inStore && statuses[0].complete)) return ExitCode.FAILURE;
      return ExitCode.OK;
    });
  },
};

// ---------------------------------------------------------------- verify

const verifyOptions = { ...HELP_OPTION, ...JSON_OPTION, entry: { type: 'string' }, path: { type: 'string' }, expect: { type: 'string' }, junit: { type: 'string' }, header: { type: 'string', multiple: true } } as const;
const verifyHelp = `Usage: graylane lane verify <lane> --entry <url> [--path /a?group=gray] [--expect a,c] [--junit file] [--json]

Sends a request marked with the lane through the entry (the path's query, e.g. ?group=gray, or
else the header x-mse-tag: <lane>), and an unmarked one (the path without its query), reads
their debug trails (x-graylane-trail: the entry and every hop must have the trail on) and passes
only if each hop of the marked request served the lane where the lane has a healthy instance of
its service and base elsewhere, and the unmarked request touched no instance outside base. A lane
that is disabled or expired is expected to run on base everywhere. Prints the chain per hop.

Options:
  --entry <url>     the entry, e.g. http://127.0.0.1:8080 (required)
  --path <path>     path and query of the marked request; default / with x-mse-tag: <lane>
  --header k:v      a header of the marked request (repeatable), e.g. 'x-mse-tag: gray'
  --expect a,c      services the chain must reach
  --junit <file>    write a JUnit XML report
  --json            print the result as JSON

${STORE_HELP}
${REGISTRY_HELP}

Exit codes: 0 verified, 1 a hop served the wrong lane, unmarked traffic reached the lane, the chain
missed an expected service or the entry failed, 2 usage.`;

export const laneVerify: Command = {
  name: ['lane', 'verify'],
  summary: 'check through the entry that every hop serves the lane it should, and unmarked traffic stays on base',
  help: verifyHelp,
  async run(argv, context) {
    const parsed = parseCommandLine(argv, verifyOptions, verifyHelp, context);
    if (!parsed) return ExitCode.OK;
    const { values, positionals } = parsed;
    const tag = onePositional(positionals);
    if (!values.entry) throw new UsageError('--entry is required');
    const headers: Record<string, string> = {};
    for (const header of values.header ?? []) {
      const at = header.indexOf(':');
      if (at <= 0) throw new UsageError(`--header: ${JSON.stringify(header)} is not name: value`);
      headers[header.slice(0, at).trim()] = header.slice(at + 1).trim();
    }
    const expectServices = list(values.expect);
    const status = await withStore(context, async (store) => (await laneStatuses(context, store, [tag], expectServices))[0]!);
    const active = status.inStore ? status.active : true;
    const laneServices = active ? status.services.filter((row) => row.laneHealthy > 0).map((row) => row.service) : [];
    const result = await verifyLane({
      lane: tag,
      entry: values.entry,
      path: values.path,
      headers: values.header ? headers : undefined,
      laneServices,
      expectServices,
    });
    if (values.junit) await writeFile(resolve(context.cwd, values.junit), toJUnit(result));
    if (values.json) context.out(JSON.stringify({ ...result, active, laneServices }, null, 2));
    else {
      context.out(`lane ${tag}${active ? '' : ' (inactive: base expected everywhere)'}; in the lane: ${laneServices.join(', ') || '(no service)'}`);
      context.out(`marked ${result.marked.url}: ${result.marked.problems.length === 0 ? 'ok' : 'FAILED'}`);
      for (const line of formatChain(result.marked)) context.out(line);
      context.out(`unmarked ${result.unmarked.url}: ${result.unmarked.problems.length === 0 ? 'ok' : 'FAILED'}`);
      for (const line of formatChain(result.unmarked)) context.out(line);
    }
    for (const problem of [...result.marked.problems, ...result.unmarked.problems]) context.err(`graylane: lane verify ${tag}: ${problem}`);
    if (!result.passed) context.err(`graylane: lane verify ${tag}: FAILED`);
    return result.passed ? ExitCode.OK : ExitCode.FAILURE;
  },
};

// ---------------------------------------------------------------- cleanup

const cleanupOptions = { ...HELP_OPTION, ...JSON_OPTION, timeout: { type: 'string' }, force: { type: 'boolean' } } as const;
const cleanupHelp = `Usage: graylane lane cleanup <lane> [--timeout 60s] [--json]

Waits, at most --timeout (default 60s), until the lane's instances have drained: none is
registered any more (graylane deregisters an instance, then keeps serving its in-flight requests
for drainMs before it closes). Then removes the lane from the lane store and reports what remained
registered in the lane.

${STORE_HELP}
${REGISTRY_HELP}

Exit codes: 0 drained and removed, 1 removed but instances remained registered after --timeout
(listed), or no such lane, or the store or registry failed, 2 usage.`;

export const laneCleanup: Command = {
  name: ['lane', 'cleanup'],
  summary: 'wait until the lane drained, remove it, report what remained',
  help: cleanupHelp,
  async run(argv, context) {
    const parsed = parseCommandLine(argv, cleanupOptions, cleanupHelp, context);
    if (!parsed) return ExitCode.OK;
    const tag = onePositional(parsed.positionals);
    const timeoutMs = parsed.values.timeout ? parseDuration(parsed.values.timeout) : 60_000;
    if (timeoutMs === undefined) throw new UsageError(`--timeout: ${JSON.stringify(parsed.values.timeout)} is not a duration (30s, 2m)`);
    return withStore(context, async (store, access) => {
      if (!store.lanes.some((lane) => lane.tag === tag)) {
        context.err(`graylane: no lane ${tag} in ${access.where}`);
        return ExitCode.FAILURE;
      }
      const deadline = Date.now() + timeoutMs;
      let remaining: ServiceStatus[] = [];
      for (;;) {
        const status = (await laneStatuses(context, store, [tag]))[0]!;
        remaining = status.services.filter((row) => row.lane > 0);
        if (remaining.length === 0 || Date.now() >= deadline || context.signal.aborted) break;
        await new Promise((done) => setTimeout(done, Math.min(500, Math.max(deadline - Date.now(), 0))));
      }
      const latest = await access.read(); // changed meanwhile? remove from the latest
      await access.write({ ...latest, lanes: latest.lanes.filter((lane) => lane.tag !== tag) });
      const left = remaining.flatMap((row) => row.instances.filter((instance) => instance.lane === tag).map((instance) => ({ service: row.service, ...instance })));
      if (parsed.values.json) context.out(JSON.stringify({ lane: tag, removed: true, drained: left.length === 0, remaining: left }, null, 2));
      else {
        context.out(`removed lane ${tag} from ${access.where}`);
        if (left.length === 0) context.out(`drained: no instance of lane ${tag} is registered`);
        for (const instance of left) context.out(`still registered: ${instance.service}[${tag}] ${instance.id}${instance.healthy ? '' : ' (unhealthy)'}`);
      }
      return left.length === 0 ? ExitCode.OK : ExitCode.FAILURE;
    });
  },
};

/** Every `graylane lane` command. */
export const laneCommands: readonly Command[] = [laneCreate, laneStatus, laneVerify, laneDisable, laneEnable, lanePromote, laneCleanup];
