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
