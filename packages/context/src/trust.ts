import { BlockList, isIP } from 'node:net';
import { diag } from '@opentelemetry/api';
import { WireNames } from '@graylane/core';
import { HTTP_TOKEN, planOf, resolvePlan } from './carriers.js';
import type { CarrierPlan } from './carriers.js';
import type { Carriers } from './carrier-value.js';
import { extractLaneWith } from './extract.js';
import type { InboundHeaders } from './extract.js';
import { injectLaneWith } from './inject.js';
import { removeCarriers } from './strip.js';
import { configError, secretBytes, verifyLaneToken } from './token.js';
import type { LaneTokenKey, TokenVerdict } from './token.js';

/** The header an entry reads lane tokens from unless told otherwise. */
export const LANE_TOKEN_HEADER = WireNames.LANE_TOKEN_HEADER;

/** Signed lane tokens an entry accepts; see {@link LaneTrustOptions.tokens}. */
export interface LaneTokenOptions {
  /**
   * The key set. The first key is the one to sign new tokens with; every key verifies. To rotate,
   * put the new key first, and remove the old one once the tokens it signed have expired.
   */
  readonly keys: readonly LaneTokenKey[];
  /** The request header holding the token. Default `x-graylane-lane-token`. */
  readonly header?: string;
  /** The longest remaining lifetime a token may have, in seconds; longer-lived tokens are rejected. Default 300, at most 86 400. */
  readonly maxAgeSeconds?: number;
  /** Tolerated clock difference between signer and entry, in seconds. Default 30, at most 300. */
  readonly clockSkewSeconds?: number;
}

/** Options of {@link createLaneTrust}. Without any, nobody is trusted: the lane is left to the rules. */
export interface LaneTrustOptions {
  /**
   * Networks whose clients may choose their lane with carriers (`x-mse-tag`, baggage, ...), in CIDR
   * notation, IPv4 or IPv6: `'10.0.0.0/8'`, `'127.0.0.0/8'`, `'::1/128'`; a bare address is one
   * host. The client is the TCP peer (never `X-Forwarded-For`); an IPv4 client that reaches a
   * dual-stack server as `::ffff:a.b.c.d` matches IPv4 networks. Default: none.
   */
  readonly trustedNetworks?: readonly string[];
  /** Accept signed lane tokens from any client. Default: tokens are not read. */
  readonly tokens?: LaneTokenOptions;
  /** The lane carriers to read and strip; pass the entry's. Default: graylane's default carriers. */
  readonly carriers?: Carriers | undefined;
}

/** Whether an entry trusts a request's lane, and which lane that is; made by {@link LaneTrust.decide}. */
export interface LaneTrustDecision {
  /**
   * The lane the request may run in: the lane of a valid token, else the lane its carriers name when
   * its client is trusted. `undefined` when neither says one: the entry's rules decide.
   */
  readonly lane: string | undefined;
  /** What the lane rests on: a trusted client network, a valid token, or nothing. */
  readonly trusted: 'network' | 'token' | false;
  /** Why a token or carried lane was rejected, when one was. */
  readonly reason?: string;
}

/**
 * The trust boundary of an entry (a gateway, or a service that the outside world calls): which
 * requests may choose their lane. Made by {@link createLaneTrust}.
 */
export interface LaneTrust {
  /**
   * Decides whether `headers` (lower-case names, as Node gives them), received from
   * `remoteAddress`, may choose their lane: a valid lane token wins, then the carriers of a client
   * in a trusted network; any other request gets no lane. Rejections are reported through
   * `diag.debug`. Never throws.
   */
  decide(headers: InboundHeaders, remoteAddress: string | undefined): LaneTrustDecision;
  /**
   * {@link LaneTrust.decide}, then makes `headers` carry only what was trusted, so that neither the
   * service nor the calls it makes see a lane the client forged: the token header (the configured one
   * and `x-graylane-lane-token`) is removed from every request, and
   * unless the client's network is trusted, the lane carriers (the enabled ones and every
   * well-known one: `x-mse-tag`, `x-opensergo-traffic`, baggage `lane`, `OpenSergo-Label`,
   * `__microservice_tag__`) are stripped and a token's lane is written in their place. Never throws.
   */
  admit(headers: Record<string, string | string[] | undefined>, remoteAddress: string | undefined): LaneTrustDecision;
}

/**
 * What an entry trusts: everyone (`'all'`, for an entry behind another graylane entry), nobody
 * (`'none'`, the lane is left to the rules), or what a {@link LaneTrust} (or the options of one)
 * decides.
 */
export type LaneTrustSetting = 'all' | 'none' | LaneTrust | LaneTrustOptions;

const WHERE = 'createLaneTrust';
const EVERY_NETWORK = ['0.0.0.0/0', '::/0'];
const UNTRUSTED: LaneTrustDecision = { lane: undefined, trusted: false };
/**
 * Every carrier graylane knows under its usual name. An entry strips them all from untrusted
 * requests, whichever it reads itself, so that an inner hop that reads more carriers than the entry
 * still finds no forged lane.
 */
const KNOWN_CARRIERS = resolvePlan({ opensergoHeader: true, opensergoBaggage: true });

interface TokenCheck {
  readonly header: string;
  readonly keys: ReadonlyMap<string, Buffer>;
  readonly maxAgeSeconds: number;
  readonly clockSkewSeconds: number;
}

/**
 * Creates the trust boundary of an entry from `options`, validated once: an invalid option throws
 * `GRAYLANE_ERR_CONFIG_INVALID` naming it (`trustedNetworks[2]`, `tokens.keys[0].secret`).
 *
 * @example
 * ```ts
 * const trust = createLaneTrust({
 *   trustedNetworks: ['10.0.0.0/8'],
 *   tokens: { keys: [{ id: 'k2', secret: process.env.LANE_KEY_2! }, { id: 'k1', secret: process.env.LANE_KEY_1! }] },
 * });
 * ```
 */
export function createLaneTrust(options: LaneTrustOptions = {}): LaneTrust {
  const plan = planOf(options.carriers, 'createLaneTrust.carriers');
  const stripHeaders = union(plan.writeHeaders, KNOWN_CARRIERS.writeHeaders);
  const stripBaggage = union(plan.readBaggage, KNOWN_CARRIERS.readBaggage);
  const networks = networkList(options.trustedNetworks);
  const tokens = options.tokens === undefined ? undefined : tokenCheck(options.tokens, plan);

  function decide(headers: InboundHeaders, remoteAddress: string | undefined): LaneTrustDecision {
    try {
      const verdict = tokens && checkToken(headers[tokens.header], tokens);
      if (verdict?.lane !== undefined) return { lane: verdict.lane, trusted: 'token' };
      let reason = verdict && `lane token rejected: ${verdict.reason}`;
      if (reason !== undefined) diag.debug(`graylane: ${reason} (client ${remoteAddress ?? 'unknown'})`);
      const carried = extractLaneWith(plan, headers);
      if (networks !== undefined && inNetworks(networks, remoteAddress)) return { lane: carried, trusted: 'network', reason };
      if (carried !== undefined) {
        reason = `${reason === undefined ? '' : `${reason}; `}lane ${carried} ignored: client ${remoteAddress ?? 'unknown'} is not in a trusted network`;
        diag.debug(`graylane: ${reason}`);
      }
      return reason === undefined ? UNTRUSTED : { lane: undefined, trusted: false, reason };
    } catch (error) {
      diag.warn("graylane: could not decide whether to trust a request's lane; trusting none", error);
      return UNTRUSTED;
    }
  }

  return {
    decide,
    admit(headers, remoteAddress) {
      const decision = decide(headers, remoteAddress);
      try {
        // Removed whether or not this entry reads tokens, so that no hop behind it mistakes one for its own.
        delete headers[LANE_TOKEN_HEADER];
        if (tokens !== undefined) delete headers[tokens.header];
        if (decision.trusted !== 'network') {
          removeCarriers(headers, stripHeaders, stripBaggage);
          if (decision.lane !== undefined) injectLaneWith(plan, headers, decision.lane);
        }
      } catch (error) {
        diag.warn('graylane: could not remove the untrusted lane carriers of a request', error);
      }
      return decision;
    },
  };
}

/**
 * The {@link LaneTrust} an entry applies for `setting`, reading `options.carriers` unless the
 * setting names its own. Throws `GRAYLANE_ERR_CONFIG_INVALID` for an invalid setting.
 */
export function laneTrustFrom(setting: LaneTrustSetting, options: { readonly carriers?: Carriers | undefined } = {}): LaneTrust {
  const { carriers } = options;
  if (setting === 'all') return createLaneTrust({ trustedNetworks: EVERY_NETWORK, carriers });
  if (setting === 'none') return createLaneTrust({ carriers });
  if (typeof setting !== 'object' || setting === null) {
    throw configError('trust', '', `${JSON.stringify(setting)}: expected 'all', 'none', a LaneTrust or LaneTrustOptions`);
  }
  if (isLaneTrust(setting)) return setting;
  return createLaneTrust({ ...setting, carriers: setting.carriers ?? carriers });
}

function union(a: readonly string[], b: readonly string[]): readonly string[] {
  return [...new Set([...a, ...b])];
}

function isLaneTrust(setting: LaneTrust | LaneTrustOptions): setting is LaneTrust {
  return typeof (setting as Partial<LaneTrust>).decide === 'function' && typeof (setting as Partial<LaneTrust>).admit === 'function';
}

/** The verdict on the token a request sent; `undefined` when it sent none. */
function checkToken(token: string | string[] | undefined, check: TokenCheck): TokenVerdict | undefined {
  if (token === undefined) return undefined;
  if (Array.isArray(token)) return { reason: `sent ${token.length} times` };
  return verifyLaneToken(token, check.keys, {
    nowSeconds: Math.floor(Date.now() / 1000),
    maxAgeSeconds: check.maxAgeSeconds,
    clockSkewSeconds: check.clockSkewSeconds,
  });
}

function inNetworks(networks: BlockList, remoteAddress: string | undefined): boolean {
  if (remoteAddress === undefined) return false;
  const zone = remoteAddress.indexOf('%');
  const address = zone < 0 ? remoteAddress : remoteAddress.slice(0, zone);
  const family = isIP(address);
  return family !== 0 && networks.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** The networks as a `BlockList` (used as an allow list); `undefined` when there are none. */
function networkList(networks: readonly string[] | undefined): BlockList | undefined {
  if (networks === undefined) return undefined;
  if (!Array.isArray(networks)) throw configError(WHERE, 'trustedNetworks', 'expected an array of CIDR networks');
  if (networks.length === 0) return undefined;
  const list = new BlockList();
  networks.forEach((network: unknown, i) => {
    const [address = '', prefix, extra] = typeof network === 'string' ? network.split('/') : [];
    const family = address.includes('%') ? 0 : isIP(address);
    const bits = family === 4 ? 32 : 128;
    const length = prefix === undefined ? bits : /^[0-9]{1,3}$/.test(prefix) ? Number(prefix) : Number.NaN;
    if (family === 0 || extra !== undefined || !(length <= bits)) {
      throw configError(WHERE, `trustedNetworks[${i}]`, `${JSON.stringify(network)} is not an IPv4 or IPv6 network in CIDR notation, such as 10.0.0.0/8 or fd00::/8`);
    }
    list.addSubnet(address, length, family === 4 ? 'ipv4' : 'ipv6');
  });
  return list;
}

function tokenCheck(options: LaneTokenOptions, plan: CarrierPlan): TokenCheck {
  if (typeof options !== 'object' || options === null) throw configError(WHERE, 'tokens', 'expected { keys, header?, maxAgeSeconds?, clockSkewSeconds? }');
  const { keys: list, header = LANE_TOKEN_HEADER, maxAgeSeconds = 300, clockSkewSeconds = 30 } = options;
  if (!Array.isArray(list) || list.length === 0) throw configError(WHERE, 'tokens.keys', 'expected at least one { id, secret }');
  const keys = new Map<string, Buffer>();
  list.forEach((key: LaneTokenKey, i) => {
    const secret = secretBytes(key, WHERE, `tokens.keys[${i}]`);
    if (keys.has(key.id)) throw configError(WHERE, `tokens.keys[${i}].id`, `${JSON.stringify(key.id)} appears twice`);
    keys.set(key.id, secret);
  });
  if (typeof header !== 'string' || !HTTP_TOKEN.test(header)) throw configError(WHERE, 'tokens.header', `${JSON.stringify(header)} is not a header name`);
  const name = header.toLowerCase();
  if (plan.fields.includes(name) || KNOWN_CARRIERS.fields.includes(name)) throw configError(WHERE, 'tokens.header', `${name} is a lane carrier`);
  if (!Number.isInteger(maxAgeSeconds) || maxAgeSeconds < 1 || maxAgeSeconds > 86_400) {
    throw configError(WHERE, 'tokens.maxAgeSeconds', 'expected a whole number of seconds from 1 to 86400');
  }
  if (!Number.isInteger(clockSkewSeconds) || clockSkewSeconds < 0 || clockSkewSeconds > 300) {
    throw configError(WHERE, 'tokens.clockSkewSeconds', 'expected a whole number of seconds from 0 to 300');
  }
  return { header: name, keys, maxAgeSeconds, clockSkewSeconds };
}
