import { BASE_LANE } from '@graylane/core';
import { ExitCode, HELP_OPTION, JSON_OPTION, UsageError, parseCommandLine } from '../command.js';
import type { Command } from '../command.js';
import { ROUTE_HELP, ROUTE_OPTIONS, describeHop, fleetPolicy, routeHops } from '../route.js';

const options = { ...HELP_OPTION, ...JSON_OPTION, ...ROUTE_OPTIONS, service: { type: 'string', multiple: true }, lane: { type: 'string' } } as const;

const help = `Usage: graylane route --service <s> [--service <s>...] [--lane <lane>] [--rules <file>] [--json]

Says where a request in <lane> would go now at each hop that calls <s>: the instance graylane's
router picks from the fleet's current instance lists (the selection every hop makes), the lane
that serves it, each fallback step passed over and why (no instance in the lane, all unhealthy,
all disabled), the instances calls are spread over, or why no instance can serve (a strict lane,
no base instance). Name the services of a chain in order (--service a --service b --service c, or
--service a,b,c) to see the whole chain; the lane travels unchanged through every hop.

Options:
  --service <s>   a called service (repeatable, or comma-separated; required)
  --lane <lane>   the request's lane; default base
  --rules <file>  the rules whose fallback chains and strict lanes the services apply
  --json          print { lane, registry, rulesFrom, lanesFrom, hops } as JSON

${ROUTE_HELP}

Exit codes: 0 every hop has an instance, 1 a hop has none (strict lane, no base instance), or the
registry, rules or lane store failed, 2 usage.`;

/** `graylane route --service <s> --lane <l>`. */
export const route: Command = {
  name: ['route'],
  summary: 'where a request in a lane would go now at each hop, which fallback step, and why',
  help,
  async run(argv, context) {
    const parsed = parseCommandLine(argv, options, help, context);
    if (!parsed) return ExitCode.OK;
    const { values, positionals } = parsed;
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const services = (values.service ?? []).flatMap((item) => item.split(',')).map((item) => item.trim()).filter(Boolean);
    if (services.length === 0) throw new UsageError('--service is required');
    const laneText = values.lane?.trim();
    const lane = laneText === undefined || laneText === '' || laneText === BASE_LANE ? undefined : laneText;
    const fleet = await fleetPolicy(context, values.rules);
    const { registry, hops } = await routeHops(context, services, lane, fleet);
    const failed = hops.some((hop) => hop.error !== null);
    if (values.json) {
      context.out(JSON.stringify({ lane: lane ?? BASE_LANE, registry, rulesFrom: fleet.rulesFrom ?? null, lanesFrom: fleet.lanesFrom ?? null, hops }, null, 2));
    } else {
      context.out(`lane ${lane ?? BASE_LANE} in the ${registry} registry${fleet.rulesFrom ? `; fallback chains from ${fleet.rulesFrom}` : '; no rules: every lane falls back straight to base'}${fleet.lanesFrom ? `; lane store ${fleet.lanesFrom}` : ''}`);
      for (const hop of hops) for (const line of describeHop(hop)) context.out(line);
    }
    return failed ? ExitCode.FAILURE : ExitCode.OK;
  },
};
