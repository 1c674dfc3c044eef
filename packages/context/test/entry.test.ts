import { context } from '@opentelemetry/api';
import { LANE_TOKEN_HEADER, createEntryDecision, createInboundLane, getLane, signLaneToken } from '../src/index.js';
import type { LaneTokenKey } from '../src/index.js';

type Req = { headers: Record<string, string | string[] | undefined> };
const KEY: LaneTokenKey = { id: 'k1', secret: 'a-test-secret-of-at-least-32-bytes!' };
const OUTSIDE = '203.0.113.9';
const rules = (req: Req) => (String(req.headers['x-group'] ?? '') === 'beta' ? 'beta' : undefined);

describe('createEntryDecision', () => {
  test('a token, then a trusted client, then the rules, then base, each with its reason', () => {
    const entry = createEntryDecision<Req>({ trust: { trustedNetworks: ['10.0.0.0/8'], tokens: { keys: [KEY] } }, rules });
    const token = signLaneToken('gray', KEY, { ttlSeconds: 60 });
    const cases: Array<[Req['headers'], string, unknown]> = [
      [{ [LANE_TOKEN_HEADER]: token, 'x-group': 'beta' }, OUTSIDE, { lane: 'gray', decidedBy: 'token' }],
      [{ 'x-mse-tag': 'gray', 'x-group': 'beta' }, '10.1.2.3', { lane: 'gray', decidedBy: 'carrier' }],
      [{ 'x-mse-tag': 'gray', 'x-group': 'beta' }, OUTSIDE, { lane: 'beta', decidedBy: 'rule' }],
      [{ 'x-mse-tag': 'gray' }, OUTSIDE, { lane: undefined, decidedBy: 'none' }],
    ];
    for (const [headers, address, expected] of cases) expect(entry.decide({ headers }, headers, address)).toEqual(expected);
  });

  test('rules see the request as sent, and untrusted carriers are stripped after', () => {
    const seen: unknown[] = [];
    const entry = createEntryDecision<Req>({ rules: (req) => (seen.push(req.headers['x-mse-tag']), undefined) });
    const headers = { 'x-mse-tag': 'gray', baggage: 'lane=gray,user=7' };
    entry.decide({ headers }, headers, OUTSIDE);
    expect(seen).toEqual(['gray']);
    expect(headers).toEqual({ baggage: 'user=7' });
  });

  test('with write, the headers carry exactly the decided lane, also over a trusted client\'s own carriers', () => {
    const entry = createEntryDecision<Req>({ trust: 'all', rules });
    const headers: Req['headers'] = { 'x-mse-tag': 'gray', baggage: 'lane=blue,user=7' };
    expect(entry.decide({ headers: { ...headers } }, headers, OUTSIDE, true)).toEqual({ lane: 'gray', decidedBy: 'carrier' });
    expect(headers['x-mse-tag']).toBe('gray');
    expect(String(headers['baggage'])).not.toContain('blue');
    const ruled: Req['headers'] = { 'x-group': 'beta', 'x-mse-tag': 'gray' };
    createEntryDecision<Req>({ rules }).decide({ headers: { ...ruled } }, ruled, OUTSIDE, true);
    expect(ruled['x-mse-tag']).toBe('beta');
  });

  test('rules that throw give base, and setRules replaces them', () => {
    const entry = createEntryDecision<Req>({ rules: () => { throw new Error('boom'); } });
    expect(entry.decide({ headers: {} }, {}, OUTSIDE)).toEqual({ lane: undefined, decidedBy: 'none' });
    entry.setRules(() => 'gray');
    expect(entry.decide({ headers: {} }, {}, OUTSIDE)).toEqual({ lane: 'gray', decidedBy: 'rule' });
  });
});

describe('createInboundLane: the entry in the gateway\'s vocabulary', () => {
  test('trust and rules decide as the deprecated entry and laneFor do', () => {
    const request = () => ({ headers: { 'x-mse-tag': 'gray', 'x-group': 'beta' } as Req['headers'], socket: { remoteAddress: OUTSIDE } });
    const lanes = [
      createInboundLane({ trust: 'none', rules }),
      createInboundLane({ entry: true, laneFor: rules }),
      createInboundLane({ trust: 'all', rules }),
      createInboundLane({ trust: 'none' }),
      createInboundLane({ entry: { trustedNetworks: ['10.0.0.0/8'] }, laneFor: rules, rules: () => undefined }),
    ].map((inbound) => {
      const req = request();
      return [getLane(context.with(context.active(), () => inbound(req))), req.headers['x-mse-tag']];
    });
    expect(lanes).toEqual([
      ['beta', undefined],
      ['beta', undefined],
      ['gray', 'gray'],
      [undefined, undefined],
      [undefined, undefined],
    ]);
  });
});
