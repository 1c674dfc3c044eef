import type { LaneDecidedBy, LaneTrust, LaneTrustSetting } from '@graylane/context';
import { UsageError } from './command.js';
import type { Context } from './command.js';

/**
 * The options that say where a request arrives, as a service or gateway is configured: its trust
 * setting (`trust` of the gateway and of the entry middleware, or an inner hop), the token keys it
 * verifies, and the client the request comes from.
 */
export const TRUST_OPTIONS = {
  trust: { type: 'string' },
  client: { type: 'string' },
  'token-keys-env': { type: 'string' },
  'token-header': { type: 'string' },
} as const;

export const TRUST_HELP = `  --trust <setting>      where the request arrives, as the service or gateway is set up:
                         none (default; an entry trusting no client, the gateway's default),
                         all (an entry trusting every client's carriers), inner (an inner hop:
                         the lane its caller carries, rules not applied), or trusted networks
                         in CIDR notation, comma-separated (10.0.0.0/8,::1/128)
  --client <address>     the request's TCP peer, checked against trusted networks; default
                         unknown (in no trusted network; --trust all trusts any client)
  --token-keys-env <var> the entry verifies lane tokens signed by the keys in this variable
                         (id:secret[,id:secret...], as GRAYLANE_LANE_TOKEN_KEYS)
  --token-header <name>  the header tokens are read from; default x-graylane-lane-token`;

/** What {@link explainEntry} found. */
export interface EntryExplanation {
  /** The lane the request keeps (or gets); `undefined` for base. */
  readonly lane: string | undefined;
  /** What the lane rests on, as the entry's `decidedBy` says; at an inner hop `carrier` or `none`. */
  readonly decidedBy: LaneDecidedBy;
  /** Where the request arrives: `entry` (trust none, all or networks) or `inner`. */
  readonly hop: 'entry' | 'inner';
  /** The trust setting, as given. */
  readonly trust: string;
  readonly client: string | undefined;
  /** The lane the request's carriers name, read as an inner hop reads them (before any trust). */
  readonly carried: string | undefined;
  /** Whether the entry trusted the request's lane: by its client's network, by a token, or not. */
  readonly trusted: 'network' | 'token' | false;
  /** Why a token or carried lane was rejected, when one was. */
  readonly rejected: readonly string[];
  /** Whether the rules were consulted for the lane (they are not at an inner hop). */
  readonly rulesApplied: boolean;
  /** Headers the entry changes before the request goes on: removed (value `null`) or set. */
  readonly forwarded: Readonly<Record<string, string | null>>;
}

interface TrustValues {
  readonly trust?: string | undefined;
  readonly client?: string | undefined;
  readonly 'token-keys-env'?: string | undefined;
  readonly 'token-header'?: string | undefined;
}

/**
 * The lane decision the service or gateway makes for a request with `headers`, through
 * `createEntryDecision` of @graylane/context (the same code): a valid token, else a trusted
 * client's carriers, else `ruled` (the lane its rules give), else base; at an inner hop, the
 * carried lane. Throws a usage error for a malformed setting, and `GRAYLANE_ERR_CONFIG_INVALID`
 * for invalid networks or keys, as the service would at start-up.
 */
export async function explainEntry(
  headers: Readonly<Record<string, readonly string[]>>,
  ruled: string | undefined,
  values: TrustValues,
  context: Context,
): Promise<EntryExplanation> {
  // Loaded on demand: the other commands start without OpenTelemetry.
  const { LANE_TOKEN_HEADER, createEntryDecision, extractLane, laneTrustFrom, parseLaneTokenKeys } = await import('@graylane/context');
  const setting = (values.trust ?? 'none').trim();
  const client = values.client?.trim() || undefined;
  const original: Record<string, string | string[]> = {};
  for (const [name, list] of Object.entries(headers)) original[name] = list.length === 1 ? list[0]! : [...list];
  const carried = extractLane(original);
  const tokenHeader = (values['token-header'] ?? LANE_TOKEN_HEADER).toLowerCase();

  if (setting === 'inner') {
    if (values['token-keys-env'] !== undefined) throw new UsageError('--token-keys-env is for an entry; an inner hop reads no lane tokens');
    return {
      lane: carried,
      decidedBy: carried === undefined ? 'none' : 'carrier',
      hop: 'inner',
      trust: setting,
      client,
      carried,
      trusted: false,
      rejected: [],
      rulesApplied: false,
      forwarded: {},
    };
  }

  let trustSetting: LaneTrustSetting;
  const keysVariable = values['token-keys-env'];
  const tokens = keysVariable === undefined ? undefined : tokenOptions(keysVariable, tokenHeader, context, parseLaneTokenKeys);
  if (setting === 'none' || setting === 'all') {
    trustSetting = tokens === undefined ? setting : setting === 'all' ? { trustedNetworks: ['0.0.0.0/0', '::/0'], tokens } : { tokens };
  } else if (setting === '' || setting.split(',').some((network) => network.trim() === '')) {
    throw new UsageError(`--trust takes none, all, inner or CIDR networks separated by commas, got ${JSON.stringify(values.trust)}`);
  } else {
    trustSetting = { trustedNetworks: setting.split(',').map((network) => network.trim()), ...(tokens === undefined ? {} : { tokens }) };
  }
  const trust: LaneTrust = laneTrustFrom(trustSetting);
  // With trust all, every TCP peer is trusted: an unnamed client stands for any one.
  const peer = client ?? (setting === 'all' ? '127.0.0.1' : undefined);
  const verdict = trust.decide(original, peer);
  const rejected: string[] = [];
  if (verdict.reason !== undefined) rejected.push(...verdict.reason.split('; '));
  const sentToken = original[tokenHeader] ?? original[LANE_TOKEN_HEADER];
  if (sentToken !== undefined && tokens === undefined) rejected.push('lane token ignored: the entry reads no lane tokens (--token-keys-env names its keys)');

  const forwardedHeaders: Record<string, string | string[] | undefined> = { ...original };
  const entry = createEntryDecision<undefined>({ trust, rules: () => ruled });
  const decision = entry.decide(undefined, forwardedHeaders, peer, true);
  const forwarded: Record<string, string | null> = {};
  for (const name of new Set([...Object.keys(original), ...Object.keys(forwardedHeaders)])) {
    const before = joined(original[name]);
    const after = joined(forwardedHeaders[name]);
    if (before !== after) forwarded[name] = after ?? null;
  }
  return {
    lane: decision.lane,
    decidedBy: decision.decidedBy,
    hop: 'entry',
    trust: setting,
    client,
    carried,
    trusted: verdict.trusted,
    rejected,
    rulesApplied: decision.decidedBy === 'rule' || decision.decidedBy === 'none',
    forwarded,
  };
}

function tokenOptions(
  variable: string,
  header: string,
  context: Context,
  parse: (text: string, source?: string) => { id: string; secret: string | Buffer }[],
): { keys: { id: string; secret: string | Buffer }[]; header: string } {
  const text = context.env[variable];
  if (!text) throw new UsageError(`--token-keys-env: ${variable} is not set; put the entry's keys in it as id:secret[,id:secret...]`);
  return { keys: parse(text, variable), header };
}

function joined(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/** One line saying why the request has its lane. */
export function describeDecision(explanation: EntryExplanation, rule: string | undefined): string {
  const lane = explanation.lane ?? 'base';
  const from = explanation.client ?? 'unknown';
  switch (explanation.decidedBy) {
    case 'token':
      return `decided by: a valid lane token for ${lane}`;
    case 'carrier':
      return explanation.hop === 'inner'
        ? `decided by: the carried lane ${lane} (an inner hop keeps the lane its caller sends)`
        : explanation.trust === 'all'
          ? `decided by: the carried lane ${lane}, the entry trusts every client (--trust all)`
          : `decided by: the carried lane ${lane}, client ${from} is in a trusted network (--trust ${explanation.trust})`;
    case 'rule':
      return `decided by: the rules (${rule ?? 'a rule'})`;
    default:
      return explanation.hop === 'inner' ? 'decided by: nothing carried a lane (an inner hop applies no rules): base' : 'decided by: no token, no trusted carrier, no rule: base';
  }
}
