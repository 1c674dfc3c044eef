import { LANE_TOKEN_HEADER, createLaneTrust } from '@graylane/context';
import { graylane } from './graylane.js';

const secret = 'a-test-secret-of-at-least-32-bytes!';
const env = { GRAYLANE_TOKEN_SECRET: secret };

describe('graylane token', () => {
  it('prints a token that an entry trusting the key accepts for the lane', async () => {
    const [plain, json] = await Promise.all([
      graylane(['token', '--lane', 'gray', '--key-id', 'k1'], { env }),
      graylane(['token', '--lane', 'feature-x', '--key-id', 'k1', '--secret-env', 'MY_SECRET', '--ttl', '60', '--json'], { env: { MY_SECRET: secret } }),
    ]);
    expect(plain).toMatchObject({ code: 0, stderr: '' });
    const trust = createLaneTrust({ tokens: { keys: [{ id: 'k1', secret }] } });
    expect(trust.decide({ [LANE_TOKEN_HEADER]: plain.stdout.trim() }, '203.0.113.9')).toMatchObject({ lane: 'gray', trusted: 'token' });
    expect(json.code).toBe(0);
    const printed = JSON.parse(json.stdout) as { token: string; header: string; lane: string; keyId: string; expiresAt: string };
    expect(printed).toMatchObject({ header: LANE_TOKEN_HEADER, lane: 'feature-x', keyId: 'k1' });
    expect(Date.parse(printed.expiresAt) - Date.now()).toBeGreaterThan(30_000);
    expect(Date.parse(printed.expiresAt) - Date.now()).toBeLessThanOrEqual(60_000);
    expect(trust.decide({ [LANE_TOKEN_HEADER]: printed.token }, '203.0.113.9')).toMatchObject({ lane: 'feature-x', trusted: 'token' });
  });

  it('refuses a short secret and an invalid lane (exit 1), and a missing secret or lane (exit 2)', async () => {
    const runs = await Promise.all([
      graylane(['token', '--lane', 'gray', '--key-id', 'k1'], { env: { GRAYLANE_TOKEN_SECRET: 'tiny-secret' } }),
      graylane(['token', '--lane', 'gray!', '--key-id', 'k1'], { env }),
      graylane(['token', '--lane', 'gray', '--key-id', 'k1']),
      graylane(['token', '--key-id', 'k1'], { env }),
      graylane(['token', '--lane', 'gray', '--key-id', 'k1', '--ttl', '0'], { env }),
    ]);
    expect(runs.map(({ code, stdout, stderr }) => [code, stdout, stderr.split('\n')[0]])).toEqual([
      [1, '', expect.stringMatching(/^graylane: GRAYLANE_ERR_CONFIG_INVALID: .*11 bytes is too short/)],
      [1, '', expect.stringMatching(/^graylane: GRAYLANE_ERR_LANE_INVALID: /)],
      [2, '', "graylane: usage: GRAYLANE_TOKEN_SECRET is not set; put the signing key's secret in it"],
      [2, '', 'graylane: usage: --lane is required'],
      [2, '', 'graylane: usage: --ttl takes a positive whole number of seconds, got "0"'],
    ]);
    expect(runs[0]!.stderr).not.toContain('tiny-secret');
  });
});
