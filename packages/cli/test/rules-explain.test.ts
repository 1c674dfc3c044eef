import { stickyBucket } from '@graylane/matcher';
import { fixture, graylane } from './graylane.js';

const rules = fixture('native.yaml');

describe('graylane rules explain', () => {
  it('names the lane and the rule that decided', async () => {
    const result = await graylane(['rules', 'explain', rules, '--url', '/a?group=gray']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout.split('\n')).toEqual([
      'lane: gray',
      'rule: lane "gray" match[0], priority 0: {"type":"query","name":"group","operator":"==","value":"gray"}',
      '',
    ]);
  });

  it('reads headers, the path and the entry', async () => {
    const result = await graylane(['rules', 'explain', rules, '--url', 'http://shop.example/index', '--header', 'X-User-Id: 12345', '--entry', 'gateway']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^lane: gray\nrule: lane "gray" match\[1\], priority 0: \{"all":\[/);
  });

  it('leaves out rules scoped to other entries', async () => {
    const result = await graylane(['rules', 'explain', rules, '--url', '/a?group=gray', '--entry', 'other-app']);
    expect(result.stdout).toMatch(/^lane: canary\nrule: lane "canary" match\[0\], priority 5/);
  });

  it('says when no rule matched, and which lane percentage turned the request away', async () => {
    // Lane rc takes a sticky 10 % by X-User-Id: a request without the header is never admitted.
    const result = await graylane(['rules', 'explain', rules, '--url', '/a', '--method', 'POST']);
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')).toEqual([
      'lane: base (no rule matched)',
      "turned away by their lane's percentage:",
      '  lane "rc" (percentage only, no match rules), priority 0',
      '',
    ]);
  });

  it('applies sticky percentages by the request key, and random ones by --bucket', async () => {
    // The MSE lane's second rule takes 20 % of /index requests by the uid cookie.
    const inside = ['a', 'b', 'c', 'd', 'e', 'f'].find((uid) => stickyBucket(uid) < 20)!;
    const outside = ['a', 'b', 'c', 'd', 'e', 'f'].find((uid) => stickyBucket(uid) >= 20)!;
    const explain = async (args: string[]) => {
      const result = await graylane(['rules', 'explain', ...args, '--json']);
      expect(result.code).toBe(0);
      return JSON.parse(result.stdout) as unknown;
    };
    const mse = (uid: string) => explain([fixture('mse.json'), '--url', '/index', '--header', 'X-User-Id: 13', '--cookie', `uid=${uid}`]);
    // The TrafficRouter's last route sends random bucket 0-9 to canary, the rest to base.
    const router = (bucket: string) => explain([fixture('opensergo.yaml'), '--url', '/', '--entry', 'a', '--bucket', bucket]);
    const [admitted, turnedAway, canary, base] = await Promise.all([mse(inside), mse(outside), router('9'), router('10')]);
    expect(admitted).toMatchObject({ lane: 'gray', rule: { tag: 'gray', ruleIndex: 1 } });
    expect(turnedAway).toMatchObject({ lane: 'base', rule: null });
    expect(canary).toMatchObject({ lane: 'canary', rule: { tag: 'canary', condition: { all: [{ operator: 'random', percentage: 10 }] } } });
    expect(base).toMatchObject({ lane: 'base', rule: { tag: 'base' } });
  });

  it('turns a malformed request into a usage error', async () => {
    const invalid = [['--url', '/', '--header', 'no-colon'], ['--url', '/', '--bucket', '100'], []];
    const results = await Promise.all(invalid.map((args) => graylane(['rules', 'explain', rules, ...args])));
    expect(results.map(({ code, stderr }) => [code, stderr.split('\n')[0]])).toEqual([
      [2, 'graylane: usage: --header takes name:value, got "no-colon"'],
      [2, 'graylane: usage: --bucket takes an integer 0-99, got "100"'],
      [2, 'graylane: usage: --url is required'],
    ]);
  });
});

describe('graylane rules explain, with a lane the request carries', () => {
  const explain = async (args: string[], env: Record<string, string> = {}) => {
    const result = await graylane(['rules', 'explain', rules, ...args], { env });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    return result.stdout;
  };
  const json = async (args: string[], env: Record<string, string> = {}) => JSON.parse(await explain([...args, '--json'], env)) as Record<string, unknown>;

  it('at an entry that trusts nobody (the default), ignores x-mse-tag and baggage, says so, and lets the rules decide', async () => {
    const [header, baggage, ruled] = await Promise.all([
      explain(['--url', '/a', '--header', 'x-mse-tag: gray']),
      json(['--url', '/a', '--header', 'baggage: lane=gray,other=1']),
      explain(['--url', '/a?group=gray', '--header', 'x-mse-tag: canary', '--trust', 'none']),
    ]);
    expect(header.split('\n')).toEqual([
      'lane: base (no rule matched)',
      'decided by: no token, no trusted carrier, no rule: base',
      'lane gray ignored: client unknown is not in a trusted network',
      'forwarded without x-mse-tag',
      "turned away by their lane's percentage:",
      '  lane "rc" (percentage only, no match rules), priority 0',
      '',
    ]);
    // The lane member is stripped, other baggage goes on.
    expect(baggage).toMatchObject({ lane: 'base', decidedBy: 'none', carried: 'gray', trusted: false, hop: 'entry', forwarded: { baggage: 'other=1' } });
    expect(ruled.split('\n').slice(0, 4)).toEqual([
      'lane: gray',
      'rule: lane "gray" match[0], priority 0: {"type":"query","name":"group","operator":"==","value":"gray"}',
      'decided by: the rules (lane "gray" match[0])',
      'lane canary ignored: client unknown is not in a trusted network',
    ]);
    expect(ruled).toContain('forwarded with x-mse-tag: gray');
  });

  it('keeps the carried lane of a trusted client (--trust all, or its network), over the rules', async () => {
    const [all, network, outside] = await Promise.all([
      explain(['--url', '/a?group=gray', '--header', 'x-mse-tag: canary', '--trust', 'all']),
      json(['--url', '/a', '--header', 'baggage: lane=gray', '--trust', '10.0.0.0/8,::1/128', '--client', '10.1.2.3']),
      json(['--url', '/a', '--header', 'baggage: lane=gray', '--trust', '10.0.0.0/8', '--client', '192.0.2.7']),
    ]);
    expect(all.split('\n')).toEqual([
      'lane: canary',
      'decided by: the carried lane canary, the entry trusts every client (--trust all)',
      'rules: not consulted (the trusted lane wins)',
      'forwarded with baggage: lane=canary',
      '',
    ]);
    expect(network).toMatchObject({ lane: 'gray', decidedBy: 'carrier', trusted: 'network', client: '10.1.2.3', rule: null, rulesApplied: false, forwarded: { 'x-mse-tag': 'gray' } });
    expect(outside).toMatchObject({ lane: 'base', decidedBy: 'none', trusted: false, rejected: ['lane gray ignored: client 192.0.2.7 is not in a trusted network'] });
  });

  it('at an inner hop, keeps the lane its caller carries and applies no rules', async () => {
    const [carried, plain] = await Promise.all([
      explain(['--url', '/a', '--header', 'x-mse-tag: gray', '--trust', 'inner']),
      json(['--url', '/a?group=gray', '--trust', 'inner']),
    ]);
    expect(carried.split('\n')).toEqual(['lane: gray', 'decided by: the carried lane gray (an inner hop keeps the lane its caller sends)', 'rules: not applied at an inner hop', '']);
    expect(plain).toMatchObject({ lane: 'base', decidedBy: 'none', rulesApplied: false, rulesLane: null, rule: null });
  });

  it('honours a valid lane token from any client; names a rejected or unread one', async () => {
    const secret = 'k'.repeat(32);
    const signed = await graylane(['token', '--lane', 'canary', '--key-id', 'k1'], { env: { GRAYLANE_TOKEN_SECRET: secret } });
    const token = signed.stdout.trim();
    const env = { ENTRY_KEYS: `k1:${secret}` };
    const [valid, tampered, unread] = await Promise.all([
      json(['--url', '/a?group=gray', '--header', `x-graylane-lane-token: ${token}`, '--token-keys-env', 'ENTRY_KEYS'], env),
      json(['--url', '/a', '--header', `x-graylane-lane-token: ${token.replace('.canary.', '.gray.')}`, '--token-keys-env', 'ENTRY_KEYS'], env),
      json(['--url', '/a', '--header', `x-graylane-lane-token: ${token}`]),
    ]);
    expect(valid).toMatchObject({ lane: 'canary', decidedBy: 'token', trusted: 'token', rule: null, forwarded: { 'x-graylane-lane-token': null, 'x-mse-tag': 'canary' } });
    expect(tampered).toMatchObject({ lane: 'base', decidedBy: 'none', trusted: false });
    expect((tampered['rejected'] as string[])[0]).toMatch(/^lane token rejected: /);
    expect(unread).toMatchObject({ lane: 'base', rejected: ['lane token ignored: the entry reads no lane tokens (--token-keys-env names its keys)'], forwarded: { 'x-graylane-lane-token': null } });
  });

  it('refuses a malformed trust setting, networks or keys', async () => {
    const results = await Promise.all([
      graylane(['rules', 'explain', rules, '--url', '/', '--trust', '10.0.0.0/8,']),
      graylane(['rules', 'explain', rules, '--url', '/', '--trust', '10.0.0.0/99']),
      graylane(['rules', 'explain', rules, '--url', '/', '--token-keys-env', 'NOT_SET_ANYWHERE']),
      graylane(['rules', 'explain', rules, '--url', '/', '--token-keys-env', 'SHORT'], { env: { SHORT: 'k1:tiny' } }),
    ]);
    expect(results.map(({ code }) => code)).toEqual([2, 1, 2, 1]);
    expect(results[1]!.stderr).toMatch(/^graylane: GRAYLANE_ERR_CONFIG_INVALID: .*trustedNetworks\[0\]/);
    expect(results[2]!.stderr).toMatch(/^graylane: usage: --token-keys-env: NOT_SET_ANYWHERE is not set/);
    expect(results[3]!.stderr).toMatch(/^graylane: GRAYLANE_ERR_CONFIG_INVALID: /);
    expect(results[3]!.stderr).not.toContain('tiny');
  });
});
