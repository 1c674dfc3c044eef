import { ExitCode, HELP_OPTION, JSON_OPTION, UsageError, parseCommandLine } from '../command.js';
import type { Command } from '../command.js';

const DEFAULT_TTL_SECONDS = 300;

const options = {
  ...HELP_OPTION,
  ...JSON_OPTION,
  lane: { type: 'string' },
  'key-id': { type: 'string' },
  'secret-env': { type: 'string', default: 'GRAYLANE_TOKEN_SECRET' },
  ttl: { type: 'string', default: String(DEFAULT_TTL_SECONDS) },
} as const;

const help = `Usage: graylane token --lane <lane> --key-id <id> [--secret-env <variable>] [--ttl <seconds>]

Prints a signed lane token: proof that its holder may send requests in <lane> through an entry
that trusts key <id>, until it expires. Send it in the entry's token header (default
x-graylane-lane-token):

  curl -H "x-graylane-lane-token: $(graylane token --lane gray --key-id k1)" https://shop.example/a

The secret is read from an environment variable, never from the command line, where other users
of the machine could see it.

Options:
  --lane <lane>             the lane the token grants (required)
  --key-id <id>             the id of the signing key, as the entry knows it (required)
  --secret-env <variable>   the variable holding the key's secret (at least 32 bytes);
                            default GRAYLANE_TOKEN_SECRET
  --ttl <seconds>           lifetime; default ${DEFAULT_TTL_SECONDS}
  --json                    print the token with its header, lane, key and expiry as JSON
  -h, --help                show this help

Exit codes: 0 printed, 1 the lane or the key is invalid, 2 usage.`;

/** `graylane token`. */
export const token: Command = {
  name: ['token'],
  summary: 'print a signed lane token for requests in a lane',
  help,

  async run(argv, context) {
    const parsed = parseCommandLine(argv, options, help, context);
    if (!parsed) return ExitCode.OK;
    const { values, positionals } = parsed;
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    if (!values.lane) throw new UsageError('--lane is required');
    if (!values['key-id']) throw new UsageError('--key-id is required');
    const ttlSeconds = Number(values.ttl);
    if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new UsageError(`--ttl takes a positive whole number of seconds, got ${JSON.stringify(values.ttl)}`);
    const secret = context.env[values['secret-env']];
    if (!secret) throw new UsageError(`${values['secret-env']} is not set; put the signing key's secret in it`);
    // Loaded on demand, so that the other commands start without OpenTelemetry.
    const { LANE_TOKEN_HEADER, signLaneToken } = await import('@graylane/context');
    const now = Date.now();
    const signed = signLaneToken(values.lane, { id: values['key-id'], secret }, { ttlSeconds, now });
    if (!values.json) {
      context.out(signed);
      return ExitCode.OK;
    }
    const expiresAt = new Date((Math.floor(now / 1000) + ttlSeconds) * 1000).toISOString();
    context.out(JSON.stringify({ token: signed, header: LANE_TOKEN_HEADER, lane: values.lane, keyId: values['key-id'], expiresAt }, null, 2));
    return ExitCode.OK;
  },
};
