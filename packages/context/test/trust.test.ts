import fc from 'fast-check';
import { ErrorCode, isGraylaneError } from '@graylane/core';
import {
  LANE_TOKEN_HEADER,
  MAX_LANE_TOKEN_LENGTH,
  createCarriers,
  createLaneTrust,
  extractLane,
  laneTrustFrom,
  parseLaneTokenKeys,
  signLaneToken,
  stripLaneCarriers,
} from '@graylane/context';
import type { Carriers, LaneTokenKey, LaneTrustOptions } from '@graylane/context';
import { captureDiag } from './support.js';

const K1: LaneTokenKey = { id: 'k1', secret: 'k1-secret-0123456789abcdefghijklmnop' };
const K2: LaneTokenKey = { id: 'k2', secret: Buffer.alloc(32, 7) };
const K3: LaneTokenKey = { id: 'k3', secret: 'k3-secret-0123456789abcdefghijklmnop' };
const EVERY_CARRIER: Carriers = createCarriers({ opensergoHeader: true, opensergoBaggage: true, headers: ['x-lane'] });

function configError(make: () => unknown): { code: string; path: unknown; message: string } {
  try {
    make();
  } catch (error) {
    if (!isGraylaneError(error)) throw error;
    return { code: error.code, path: error.details['path'], message: error.message };
  }
  throw new Error('expected a configuration error');
}

const token = (lane = 'gray', key = K1, ttlSeconds = 60, now?: number) => signLaneToken(lane, key, { ttlSeconds, now });

describe('trusted networks', () => {
  const trust = createLaneTrust({ trustedNetworks: ['127.0.0.0/8', '10.1.0.0/16', '::1/128', 'fd00::/8', '192.0.2.7'] });
  const decide = (address: string | undefined) => trust.decide({ 'x-mse-tag': 'gray' }, address);

  test.each([
    ['127.0.0.1'],
    ['127.255.0.9'],
    ['10.1.200.3'],
    ['192.0.2.7'],
    ['::1'],
    ['fd12:3456::1'],
    ['::ffff:127.0.0.1'],
    ['::ffff:10.1.0.1'],
  ])('%s is trusted: its carriers choose the lane', (address) => {
    expect(decide(address)).toEqual({ lane: 'gray', trusted: 'network' });
  });

  test.each([['10.2.0.1'], ['192.0.2.8'], ['8.8.8.8'], ['::2'], ['fe80::1%eth0'], ['::ffff:8.8.8.8'], ['not an address'], [''], [undefined]])(
    '%s is not trusted: no lane, whatever it carries',
    (address) => {
      expect(decide(address)).toMatchObject({ lane: undefined, trusted: false });
    },
  );

  test('a trusted client without carriers leaves the lane to the rules', () => {
    expect(trust.decide({}, '127.0.0.1')).toEqual({ lane: undefined, trusted: 'network' });
  });

  test('by default nobody is trusted, loopback included', () => {
    expect(createLaneTrust().decide({ 'x-mse-tag': 'gray' }, '127.0.0.1')).toMatchObject({ lane: undefined, trusted: false });
    expect(createLaneTrust({ trustedNetworks: [] }).decide({ 'x-mse-tag': 'gray' }, '::1')).toMatchObject({ trusted: false });
  });

  test.each([
    ['10.0.0.0/33'],
    ['10.0.0/8'],
    ['::/129'],
    ['10.0.0.0/8/8'],
    ['10.0.0.0/'],
    ['10.0.0.0/-1'],
    ['fe80::%eth0/64'],
    ['localhost'],
    [''],
  ])('%j is refused at creation with its path', (network) => {
    expect(configError(() => createLaneTrust({ trustedNetworks: ['127.0.0.0/8', '::1/128', network] }))).toMatchObject({
      code: ErrorCode.CONFIG_INVALID,
      path: 'trustedNetworks[2]',
    });
  });
});

describe('lane tokens', () => {
  const trust = createLaneTrust({ tokens: { keys: [K1, K2] } });
  const decide = (value: string | string[]) => trust.decide({ [LANE_TOKEN_HEADER]: value }, '203.0.113.9');

  test('a signed token is compact, URL-safe and names its key, lane and expiry', () => {
    const signed = token('feature.x-1', K1, 60, 1_700_000_000_000);
    expect(signed).toMatch(/^v1\.k1\.feature\.x-1\.1700000060\.[A-Za-z0-9_-]{43}$/);
    expect(signed.length).toBeLessThanOrEqual(MAX_LANE_TOKEN_LENGTH);
    expect(encodeURIComponent(signed)).toBe(signed);
  });

  test('a valid token from an untrusted client chooses the lane, and wins over its carriers', () => {
    expect(decide(token())).toEqual({ lane: 'gray', trusted: 'token' });
    expect(trust.decide({ [LANE_TOKEN_HEADER]: token('blue'), 'x-mse-tag': 'gray' }, '203.0.113.9')).toEqual({ lane: 'blue', trusted: 'token' });
  });

  test('rotation: every key in the set verifies; a key removed from the set no longer does', () => {
    expect(decide(token('gray', K2))).toEqual({ lane: 'gray', trusted: 'token' });
    const rotated = createLaneTrust({ tokens: { keys: [K3, K2] } });
    const byOldKey = token('gray', K1);
    expect(rotated.decide({ [LANE_TOKEN_HEADER]: token('gray', K3) }, undefined).trusted).toBe('token');
    expect(rotated.decide({ [LANE_TOKEN_HEADER]: token('gray', K2) }, undefined).trusted).toBe('token');
    expect(rotated.decide({ [LANE_TOKEN_HEADER]: byOldKey }, undefined)).toMatchObject({ trusted: false, reason: expect.stringContaining('unknown key "k1"') });
  });

  test('a key id that names a key of the set with another secret does not verify', () => {
    const impostor = token('gray', { id: 'k1', secret: 'not-the-k1-secret-0123456789abcdefgh' });
    expect(decide(impostor)).toMatchObject({ trusted: false, reason: expect.stringContaining('bad signature') });
  });

  test('expiry: an expired token is rejected; one inside the clock skew is accepted', () => {
    const now = Date.now();
    expect(decide(token('gray', K1, 60, now - 120_000))).toMatchObject({ trusted: false, reason: expect.stringContaining('expired') });
    expect(decide(token('gray', K1, 60, now - 75_000))).toMatchObject({ trusted: 'token' });
  });

  test('a token that lives longer than maxAgeSeconds (plus skew), or is dated in the future, is rejected', () => {
    expect(decide(token('gray', K1, 3600))).toMatchObject({ trusted: false, reason: expect.stringContaining('more than 300 s') });
    expect(decide(token('gray', K1, 60, Date.now() + 600_000))).toMatchObject({ trusted: false });
    expect(decide(token('gray', K1, 320))).toMatchObject({ trusted: 'token' });
    const patient = createLaneTrust({ tokens: { keys: [K1], maxAgeSeconds: 3600, clockSkewSeconds: 0 } });
    expect(patient.decide({ [LANE_TOKEN_HEADER]: token('gray', K1, 3600) }, undefined).trusted).toBe('token');
  });

  test('tampering: a changed lane, expiry, key id or signature is rejected', () => {
    const signed = token('gray');
    const [version, keyId, lane, expiry, signature] = signed.split('.') as [string, string, string, string, string];
    const flipped = `${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`;
    for (const forged of [
      [version, keyId, 'blue', expiry, signature],
      [version, keyId, lane, String(Number(expiry) + 60), signature],
      [version, 'k2', lane, expiry, signature],
      [version, keyId, lane, expiry, flipped],
      [version, keyId, lane, expiry, signature.toLowerCase()],
    ]) {
      expect(decide(forged.join('.'))).toMatchObject({ lane: undefined, trusted: false, reason: expect.any(String) });
    }
  });

  test.each([
    ['empty', ''],
    ['another version', token().replace(/^v1/, 'v2')],
    ['an oversized value', `v1.k1.gray.1.${'A'.repeat(300)}`],
    ['the base lane', 'v1.k1.base.9999999999.' + 'A'.repeat(43)],
    ['padding in the signature', `${token()}=`],
    ['a leading zero in the expiry', token().replace(/\.(\d+)\./, '.0$1.')],
  ])('%s is rejected', (_what, value) => {
    expect(decide(value)).toMatchObject({ lane: undefined, trusted: false });
  });

  test('a token sent twice is rejected', () => {
    expect(decide([token(), token()])).toMatchObject({ trusted: false, reason: expect.stringContaining('sent 2 times') });
  });

  test('a rejected token from a trusted network falls back to its carriers, with the reason', () => {
    const both = createLaneTrust({ trustedNetworks: ['127.0.0.0/8'], tokens: { keys: [K1] } });
    expect(both.decide({ [LANE_TOKEN_HEADER]: 'nonsense', 'x-mse-tag': 'blue' }, '127.0.0.1')).toEqual({
      lane: 'blue',
      trusted: 'network',
      reason: 'lane token rejected: malformed',
    });
  });

  test('malformed input never throws and never grants a lane (property)', () => {
    const almost = fc
      .tuple(fc.constantFrom('v1', 'v0', ''), fc.constantFrom('k1', 'k2', 'k9', ''), fc.string({ maxLength: 70 }), fc.string({ maxLength: 14 }), fc.string({ maxLength: 50 }))
      .map((parts) => parts.join('.'));
    const value = fc.oneof(fc.string({ maxLength: 300 }), almost, fc.array(fc.string(), { maxLength: 3 }));
    fc.assert(
      fc.property(value, fc.oneof(fc.string(), fc.constant(undefined)), (header, address) => {
        const decision = trust.decide({ [LANE_TOKEN_HEADER]: header }, address);
        expect(decision).toMatchObject({ lane: undefined, trusted: false });
      }),
      { numRuns: 2000 },
    );
  });

  test('signLaneToken refuses a lane outside the grammar, the base lane, a short secret and a bad lifetime', () => {
    expect(configError(() => token('not a lane')).code).toBe(ErrorCode.LANE_INVALID);
    expect(configError(() => token('base'))).toMatchObject({ code: ErrorCode.CONFIG_INVALID, path: 'lane' });
    expect(configError(() => token('gray', { id: 'k1', secret: 'short' }))).toMatchObject({ path: 'key.secret' });
    expect(configError(() => token('gray', { id: 'k.1', secret: K1.secret }))).toMatchObject({ path: 'key.id' });
    expect(configError(() => token('gray', K1, 0))).toMatchObject({ path: 'ttlSeconds' });
    expect(configError(() => token('gray', K1, 1.5))).toMatchObject({ path: 'ttlSeconds' });
  });
});

describe('createLaneTrust options', () => {
  test.each<[string, string, LaneTrustOptions]>([
    ['a short secret', 'tokens.keys[1].secret', { tokens: { keys: [K1, { id: 'k2', secret: 'x'.repeat(31) }] } }],
    ['a short Buffer secret', 'tokens.keys[0].secret', { tokens: { keys: [{ id: 'k2', secret: Buffer.alloc(16) }] } }],
    ['a key id with dots', 'tokens.keys[0].id', { tokens: { keys: [{ id: 'k.2', secret: K1.secret }] } }],
    ['a duplicate key id', 'tokens.keys[1].id', { tokens: { keys: [K1, { ...K3, id: 'k1' }] } }],
    ['no key', 'tokens.keys', { tokens: { keys: [] } }],
    ['a header that is a carrier', 'tokens.header', { tokens: { keys: [K1], header: 'X-MSE-Tag' } }],
    ['the baggage header', 'tokens.header', { tokens: { keys: [K1], header: 'baggage' } }],
    ['a well-known carrier', 'tokens.header', { tokens: { keys: [K1], header: 'x-opensergo-traffic' } }],
    ['a header that is not a token', 'tokens.header', { tokens: { keys: [K1], header: 'a b' } }],
    ['a day-long maxAgeSeconds and more', 'tokens.maxAgeSeconds', { tokens: { keys: [K1], maxAgeSeconds: 86_401 } }],
    ['a negative clock skew', 'tokens.clockSkewSeconds', { tokens: { keys: [K1], clockSkewSeconds: -1 } }],
    ['a string of networks', 'trustedNetworks', { trustedNetworks: '10.0.0.0/8' as unknown as string[] }],
  ])('%s throws GRAYLANE_ERR_CONFIG_INVALID at %s', (_what, path, options) => {
    expect(configError(() => createLaneTrust(options))).toMatchObject({ code: ErrorCode.CONFIG_INVALID, path });
  });

  test('errors never echo a secret', () => {
    const secret = 'too-short-secret';
    expect(configError(() => createLaneTrust({ tokens: { keys: [{ id: 'k', secret }] } })).message).not.toContain(secret);
  });

  test('the token header is configurable, and read case-insensitively as Node gives it', () => {
    const trust = createLaneTrust({ tokens: { keys: [K1], header: 'X-Lane-Token' } });
    expect(trust.decide({ 'x-lane-token': token() }, undefined).trusted).toBe('token');
  });
});

describe('admit', () => {
  const trust = createLaneTrust({ trustedNetworks: ['10.0.0.0/8'], tokens: { keys: [K1] }, carriers: EVERY_CARRIER });

  test('an untrusted request loses every lane carrier, and keeps the rest of its baggage', () => {
    const headers: Record<string, string | string[] | undefined> = {
      'x-mse-tag': 'gray',
      'x-opensergo-traffic': 'gray',
      'x-lane': 'gray',
      baggage: 'user=7,lane=gray,OpenSergo-Label=gray,__microservice_tag__=%22gray%22,tenant=acme',
      accept: 'text/plain',
    };
    expect(trust.admit(headers, '203.0.113.9')).toMatchObject({ lane: undefined, trusted: false });
    expect(headers).toEqual({ baggage: 'user=7,tenant=acme', accept: 'text/plain' });
  });

  test('every well-known carrier is stripped, even one the entry does not read', () => {
    const headers: Record<string, string | string[] | undefined> = {
      'x-mse-tag': 'gray',
      'x-opensergo-traffic': 'gray',
      baggage: 'lane=gray,OpenSergo-Label=gray,__microservice_tag__=gray,user=7',
    };
    createLaneTrust({ carriers: createCarriers({ mseTag: 'x-my-lane', baggage: false }) }).admit(headers, '203.0.113.9');
    expect(headers).toEqual({ baggage: 'user=7' });
  });

  test("a token's lane replaces the carriers, and the token does not travel on", () => {
    const headers: Record<string, string | string[] | undefined> = { [LANE_TOKEN_HEADER]: token('blue'), 'x-mse-tag': 'gray', baggage: 'user=7,lane=gray' };
    expect(trust.admit(headers, '203.0.113.9')).toEqual({ lane: 'blue', trusted: 'token' });
    expect(headers[LANE_TOKEN_HEADER]).toBeUndefined();
    expect(createCarriers(EVERY_CARRIER).extractLane(headers)).toBe('blue');
    expect(headers['x-mse-tag']).toBe('blue');
    expect(String(headers['baggage']).split(',').sort()).toEqual(['OpenSergo-Label=blue', 'lane=blue', 'user=7']);
  });

  test('a trusted client keeps its carriers as sent; a rejected token is removed all the same', () => {
    const headers = { [LANE_TOKEN_HEADER]: 'forged', 'x-mse-tag': 'gray', baggage: 'lane=gray' };
    expect(trust.admit(headers, '10.0.0.1')).toMatchObject({ lane: 'gray', trusted: 'network' });
    expect(headers).toEqual({ 'x-mse-tag': 'gray', baggage: 'lane=gray' });
  });

  test('an unsigned request from outside never comes out with a lane (property)', () => {
    const lane = fc.constantFrom('gray', 'blue', 'base', '"gray"', '{"tag":"gray"}', ' gray ');
    const baggage = fc
      .array(fc.tuple(fc.constantFrom('lane', 'OpenSergo-Label', '__microservice_tag__', 'user', 'Lane'), lane), { maxLength: 4 })
      .map((entries) => entries.map(([key, value]) => `${key}=${encodeURIComponent(value)}`).join(','));
    const headers = fc.record(
      {
        'x-mse-tag': fc.oneof(lane, fc.array(lane, { maxLength: 2 })),
        'x-opensergo-traffic': lane,
        'x-lane': lane,
        baggage: fc.oneof(baggage, fc.array(baggage, { maxLength: 2 })),
        [LANE_TOKEN_HEADER]: fc.oneof(fc.string(), fc.constant(`v1.k1.gray.9999999999.${'A'.repeat(43)}`)),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(headers, fc.constantFrom('203.0.113.9', '::ffff:8.8.8.8', '2001:db8::1', undefined), (sent, address) => {
        const copy: Record<string, string | string[] | undefined> = structuredClone(sent);
        expect(trust.admit(copy, address)).toMatchObject({ lane: undefined, trusted: false });
        expect(createCarriers(EVERY_CARRIER).extractLane(copy)).toBeUndefined();
        expect(createCarriers({ mseBaggage: true }).extractLane(copy)).toBeUndefined();
      }),
      { numRuns: 1000 },
    );
  });
});

describe('admit: forged lanes in baggage of any shape', () => {
  const trust = createLaneTrust();
  const filler = (n: number) => Array.from({ length: n }, (_, i) => `k${i}=v${i}`);
  const admitted = (headers: Record<string, string | string[] | undefined>) => {
    trust.admit(headers, '203.0.113.9');
    return headers;
  };
  // The members sent on: an empty list entry (an empty header line joined in, a trailing comma) is none.
  const members = (headers: Record<string, unknown>) =>
    headers['baggage'] === undefined ? [] : String(headers['baggage']).split(',').filter((m) => m.trim() !== '');

  test('a lane member after the 180th member is removed, and no more than 180 members go on', () => {
    const headers = admitted({ baggage: [...filler(200), 'lane=gray'].join(',') });
    expect(members(headers).some((m) => m.startsWith('lane'))).toBe(false);
    expect(members(headers)).toHaveLength(180);
  });

  test('a lane member beside a member longer than 4,096 characters is removed, and the long member dropped', () => {
    const headers = admitted({ baggage: `big=${'x'.repeat(5000)},lane=gray,user=7` });
    expect(headers['baggage']).toBe('user=7');
    const inside = admitted({ baggage: `pad=${'x'.repeat(4100)};lane=gray,user=7` });
    expect(inside['baggage']).toBe('user=7');
  });

  test('a lane member in the 181st baggage header line is removed', () => {
    const lines = [...filler(180), 'lane=gray'];
    const headers = admitted({ baggage: lines });
    expect(members(headers).some((m) => m.includes('gray'))).toBe(false);
  });

  test('180 members and an empty header line: 180 members go on (the empty line is no member)', () => {
    // The property below found it (seed -1427824418): the header went on as sent, with a trailing comma.
    const headers = admitted({ baggage: [...filler(180), ''] });
    expect(members(headers)).toHaveLength(180);
  });

  test('percent-encoded, differently cased and padded keys are removed', () => {
    for (const forged of ['%6Cane=gray', 'LANE=gray', ' lane =gray', '\tlane\t=gray;p=1', '__Microservice_Tag__=gray', 'opensergo-label=gray']) {
      const headers = admitted({ baggage: `user=7,${forged}` });
      expect(headers['baggage']).toBe('user=7');
    }
  });

  test('malformed members are dropped, well-formed ones go on as sent', () => {
    const headers = admitted({ baggage: 'user=7;  prop,%E0%A4%A=x,noequals,=novalue, x=%20y' });
    expect(headers['baggage']).toBe('user=7;  prop,x=%20y');
  });

  test('whatever is sent, no baggage reader finds a lane member behind an untrusted entry (property)', () => {
    const key = fc.constantFrom('lane', 'Lane', '%6Cane', 'OpenSergo-Label', '__microservice_tag__', 'user', 'k');
    const member = fc.tuple(key, fc.constantFrom('gray', 'v', 'x'.repeat(5000)), fc.constantFrom('', ';p', ';p=1')).map(([k, v, p]) => `${k}=${v}${p}`);
    const line = fc.array(member, { maxLength: 8 }).map((m) => m.join(','));
    const baggage = fc.tuple(fc.nat(250), fc.oneof(line, fc.array(line, { minLength: 1, maxLength: 3 })));
    fc.assert(
      fc.property(baggage, ([pad, sent]) => {
        const headers: Record<string, string | string[] | undefined> = { baggage: [...filler(pad), ...(Array.isArray(sent) ? sent : [sent])] };
        trust.admit(headers, '203.0.113.9');
        const left = members(headers);
        expect(left.length).toBeLessThanOrEqual(180);
        expect(String(headers['baggage'] ?? '').length).toBeLessThanOrEqual(8192);
        for (const m of left) expect(decodeURIComponent(m.split('=')[0]!.trim()).toLowerCase()).not.toMatch(/^(lane|opensergo-label|__microservice_tag__)$/);
      }),
      { numRuns: 300 },
    );
  }, 30_000); // about 1.2 s on an idle machine: the default 5 s is too short on a loaded one

  test('the lane token header is removed even by an entry that reads no tokens', () => {
    const headers = admitted({ [LANE_TOKEN_HEADER]: 'v1.k1.gray.9999999999.x', accept: '*/*' });
    expect(headers).toEqual({ accept: '*/*' });
    const all = { [LANE_TOKEN_HEADER]: 'x', 'x-mse-tag': 'gray' };
    laneTrustFrom('all').admit(all, '127.0.0.1');
    expect(all).toEqual({ 'x-mse-tag': 'gray' });
  });
});

describe('stripLaneCarriers', () => {
  test('matches header names case-insensitively and removes a baggage header left empty', () => {
    const headers: Record<string, unknown> = { 'X-MSE-Tag': 'gray', Baggage: 'lane=gray', other: '1' };
    stripLaneCarriers(headers);
    expect(headers).toEqual({ other: '1' });
  });

  test('joins repeated baggage headers, and leaves baggage without lane entries untouched', () => {
    const repeated: Record<string, unknown> = { baggage: ['user=7', 'lane=gray'] };
    stripLaneCarriers(repeated);
    expect(repeated).toEqual({ baggage: 'user=7' });
    const untouched: Record<string, unknown> = { baggage: 'user=7;  prop ,  x=%20y' };
    stripLaneCarriers(untouched);
    expect(untouched).toEqual({ baggage: 'user=7;  prop ,  x=%20y' });
  });

  test('removes the lane entry of a baggage header too long to decode, and the members past the limits', () => {
    const headers: Record<string, unknown> = { baggage: `lane=gray,pad=${'x'.repeat(9000)}` };
    stripLaneCarriers(headers);
    expect(headers).toEqual({});
    const long: Record<string, unknown> = { baggage: `lane=gray,${Array.from({ length: 900 }, (_, i) => `key${i}=value${i}`).join(',')}` };
    stripLaneCarriers(long);
    expect(String(long['baggage']).length).toBeLessThanOrEqual(8192);
    expect(String(long['baggage']).startsWith('key0=value0,')).toBe(true);
  });

  test('strips only the carriers that are enabled', () => {
    const headers: Record<string, unknown> = { 'x-mse-tag': 'gray', 'x-custom': 'gray', baggage: 'lane=gray' };
    createCarriers({ mseTag: false, baggage: false, mseBaggage: false, headers: ['x-custom'] }).stripLaneCarriers(headers);
    expect(headers).toEqual({ 'x-mse-tag': 'gray', baggage: 'lane=gray' });
  });
});

describe('laneTrustFrom', () => {
  test("'all' trusts every client, 'none' no client", () => {
    expect(laneTrustFrom('all').decide({ 'x-mse-tag': 'gray' }, '8.8.8.8').trusted).toBe('network');
    expect(laneTrustFrom('all').decide({ 'x-mse-tag': 'gray' }, '2001:db8::1').trusted).toBe('network');
    expect(laneTrustFrom('none').decide({ 'x-mse-tag': 'gray' }, '127.0.0.1').trusted).toBe(false);
  });

  test("options read the entry's carriers unless they name their own; a LaneTrust is used as it is", () => {
    const carriers = createCarriers({ mseTag: 'x-my-lane' });
    expect(laneTrustFrom({ trustedNetworks: ['127.0.0.1'] }, { carriers }).decide({ 'x-my-lane': 'gray' }, '127.0.0.1').lane).toBe('gray');
    expect(laneTrustFrom({ trustedNetworks: ['127.0.0.1'], carriers: createCarriers() }, { carriers }).decide({ 'x-my-lane': 'gray' }, '127.0.0.1').lane).toBeUndefined();
    const trust = createLaneTrust();
    expect(laneTrustFrom(trust, { carriers })).toBe(trust);
  });

  test('anything else is a configuration error', () => {
    expect(configError(() => laneTrustFrom('yes' as 'all'))).toMatchObject({ code: ErrorCode.CONFIG_INVALID });
  });
});

describe('parseLaneTokenKeys', () => {
  test('reads id:secret pairs in order; a secret may hold colons', () => {
    const secret = 'abc:def:0123456789abcdefghijklmnopqrstuv';
    expect(parseLaneTokenKeys(` new:${secret} , old:${K1.secret}`)).toEqual([
      { id: 'new', secret },
      { id: 'old', secret: K1.secret },
    ]);
  });

  test.each([[''], [undefined], ['k1'], [`k1:${K1.secret},`], ['k1:short']])('%j is refused, naming the source', (text) => {
    // `undefined`: an unset environment variable, from JavaScript.
    expect(configError(() => parseLaneTokenKeys(text as string, 'GRAYLANE_LANE_TOKEN_KEYS'))).toMatchObject({
      code: ErrorCode.CONFIG_INVALID,
      message: expect.stringMatching(/^GRAYLANE_LANE_TOKEN_KEYS/),
    });
  });
});

describe('diagnostics', () => {
  const diag = captureDiag();

  test('a rejected token and an ignored carried lane are reported, with the client', () => {
    const trust = createLaneTrust({ tokens: { keys: [K1] } });
    trust.decide({ [LANE_TOKEN_HEADER]: 'forged', 'x-mse-tag': 'gray' }, '203.0.113.9');
    expect(diag.messages).toEqual([
      'graylane: lane token rejected: malformed (client 203.0.113.9)',
      'graylane: lane token rejected: malformed; lane gray ignored: client 203.0.113.9 is not in a trusted network',
    ]);
  });
});
