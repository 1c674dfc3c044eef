import { createHmac, timingSafeEqual } from 'node:crypto';
import { ErrorCode, GraylaneError, assertLane, parseLane } from '@graylane/core';

/** A key lane tokens are signed with; see {@link signLaneToken}. */
export interface LaneTokenKey {
  /** Names the key inside the token, so that verifiers pick it: 1-32 characters of `A-Z a-z 0-9 _ -`. */
  readonly id: string;
  /** The HMAC-SHA256 secret, at least 32 bytes (a string counts its UTF-8 bytes). */
  readonly secret: string | Buffer;
}

/** Options of {@link signLaneToken}. */
export interface SignLaneTokenOptions {
  /** Seconds the token stays valid. Verifiers reject tokens that live longer than their `maxAgeSeconds`. */
  readonly ttlSeconds: number;
  /** The signing time in milliseconds since the epoch, as `Date.now()` gives it. Default: now. */
  readonly now?: number;
}

/** Longest lane token looked at; a valid one is at most about 160 characters. */
export const MAX_LANE_TOKEN_LENGTH = 256;

/** Shortest secret accepted, in bytes: as many as HMAC-SHA256's output. */
export const MIN_SECRET_BYTES = 32;

const VERSION = 'v1';
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
/** `v1.<keyId>.<lane>.<expiry>.<signature>`; the lane may hold dots, the other fields cannot. */
const TOKEN = /^v1\.([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9._-]{1,63})\.([1-9][0-9]{0,11})\.([A-Za-z0-9_-]{43})$/;

/**
 * Signs a lane token: proof that its holder may send requests in `lane` through an entry that
 * trusts `key`, until `ttlSeconds` from now. Test tools and partner gateways put it in the entry's
 * token header (default `x-graylane-lane-token`). The token is compact and URL-safe:
 * `v1.<keyId>.<lane>.<expiry, epoch seconds>.<base64url HMAC-SHA256 of everything before it>`.
 *
 * Throws `GRAYLANE_ERR_LANE_INVALID` for a lane outside the lane grammar (or `base`, which needs no
 * token) and `GRAYLANE_ERR_CONFIG_INVALID` for an invalid key or lifetime.
 *
 * @example
 * ```ts
 * const token = signLaneToken('gray', { id: 'k2', secret: process.env.LANE_SECRET! }, { ttlSeconds: 300 });
 * await fetch('https://shop.example/a', { headers: { 'x-graylane-lane-token': token } });
 * ```
 */
export function signLaneToken(lane: string, key: LaneTokenKey, options: SignLaneTokenOptions): string {
  const parsed = assertLane(lane, 'signLaneToken');
  if (parsed === undefined) throw configError('signLaneToken', 'lane', 'the base lane needs no token');
  const { ttlSeconds, now = Date.now() } = options;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) {
    throw configError('signLaneToken', 'ttlSeconds', 'expected a positive whole number of seconds');
  }
  if (!Number.isFinite(now)) throw configError('signLaneToken', 'now', 'expected milliseconds since the epoch');
  const secret = secretBytes(key, 'signLaneToken', 'key');
  const payload = `${VERSION}.${key.id}.${parsed}.${Math.floor(now / 1000) + ttlSeconds}`;
  return `${payload}.${mac(secret, payload)}`;
}

/**
 * The secret of `key` as bytes, after checking the key id and the secret's length. Throws
 * `GRAYLANE_ERR_CONFIG_INVALID` naming `where` and `path`; the secret never appears in the error.
 */
export function secretBytes(key: LaneTokenKey, where: string, path: string): Buffer {
  if (typeof key !== 'object' || key === null) throw configError(where, path, 'expected { id, secret }');
  if (typeof key.id !== 'string' || !KEY_ID.test(key.id)) {
    throw configError(where, `${path}.id`, `${JSON.stringify(key.id)} is not 1-32 characters of A-Z a-z 0-9 _ -`);
  }
  const { secret } = key;
  if (typeof secret !== 'string' && !Buffer.isBuffer(secret)) throw configError(where, `${path}.secret`, 'expected a string or a Buffer');
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  if (bytes.length < MIN_SECRET_BYTES) {
    throw configError(where, `${path}.secret`, `${bytes.length} bytes is too short; use at least ${MIN_SECRET_BYTES} random bytes`);
  }
  return bytes;
}

/**
 * A key set written as text, `id:secret[,id:secret...]`, as an environment variable holds it
 * (the demo reads `GRAYLANE_LANE_TOKEN_KEYS`). The first key is the one to sign with; every key
 * verifies. A secret may contain `:` but not `,`; whitespace around entries is ignored. Throws
 * `GRAYLANE_ERR_CONFIG_INVALID` naming `source` and the entry, never echoing a secret.
 *
 * @example
 * ```ts
 * const [current] = parseLaneTokenKeys(process.env.GRAYLANE_LANE_TOKEN_KEYS ?? '', 'GRAYLANE_LANE_TOKEN_KEYS');
 * ```
 */
export function parseLaneTokenKeys(text: string, source = 'lane token keys'): LaneTokenKey[] {
  const entries = typeof text === 'string' ? text.split(',').map((entry) => entry.trim()) : [];
  if (entries.every((entry) => entry === '')) throw configError(source, '', 'expected id:secret[,id:secret...]');
  return entries.map((entry, i) => {
    const colon = entry.indexOf(':');
    if (colon < 0) throw configError(source, `[${i}]`, 'expected id:secret');
    const key = { id: entry.slice(0, colon), secret: entry.slice(colon + 1) };
    secretBytes(key, source, `[${i}]`);
    return key;
  });
}

/** How a {@link verifyLaneToken} call judges time. */
export interface TokenClock {
  /** Seconds since the epoch. */
  readonly nowSeconds: number;
  /** The longest remaining lifetime accepted. */
  readonly maxAgeSeconds: number;
  /** Tolerated difference between the signer's clock and this one. */
  readonly clockSkewSeconds: number;
}

/** The outcome of {@link verifyLaneToken}: the lane, or why the token was rejected. */
export type TokenVerdict = { readonly lane: string } | { readonly lane?: undefined; readonly reason: string };

/**
 * Checks a lane token against `keys` (secrets by key id): its shape, its key, its signature (in
 * constant time), its lane and its expiry. Never throws.
 */
export function verifyLaneToken(token: string, keys: ReadonlyMap<string, Buffer>, clock: TokenClock): TokenVerdict {
  if (token.length > MAX_LANE_TOKEN_LENGTH) return { reason: `${token.length} characters` };
  const fields = TOKEN.exec(token);
  if (fields === null) return { reason: 'malformed' };
  const [, keyId = '', lane = '', expiry = '', signature = ''] = fields;
  const secret = keys.get(keyId);
  if (secret === undefined) return { reason: `unknown key ${JSON.stringify(keyId)}` };
  const expected = Buffer.from(mac(secret, token.slice(0, token.length - signature.length - 1)));
  if (!timingSafeEqual(expected, Buffer.from(signature))) return { reason: `bad signature (key ${JSON.stringify(keyId)})` };
  const parsed = parseLane(lane);
  if (parsed === undefined || parsed === null) return { reason: 'not a lane' };
  const expires = Number(expiry);
  if (expires <= clock.nowSeconds - clock.clockSkewSeconds) return { reason: 'expired' };
  if (expires > clock.nowSeconds + clock.maxAgeSeconds + clock.clockSkewSeconds) {
    return { reason: `expires more than ${clock.maxAgeSeconds} s from now` };
  }
  return { lane: parsed };
}

function mac(secret: Buffer, payload: string): string {
  return createHmac('sha256', secret).update(payload).digest('base64url');
}

/** A `GRAYLANE_ERR_CONFIG_INVALID` error for the option at `path` of the factory `where`. */
export function configError(where: string, path: string, reason: string): GraylaneError {
  const message = path === '' ? `${where}: ${reason}` : `${where}: ${path}: ${reason}`;
  return new GraylaneError(ErrorCode.CONFIG_INVALID, message, { details: { path } });
}
