import { ErrorCode, isGraylaneError } from '@graylane/core';
import { fallbackPolicy, parseRules, parseRulesInWorker } from '../src/index.js';

// The worker loads this package's built CommonJS output (dist), as an installed copy would.
const lanes = (n: number) =>
  `lanes:\n${Array.from({ length: n }, (_, i) => `  - tag: lane-${i}\n    fallback: [rc]\n    match: [{ type: header, name: x-user, operator: '==', value: 'u${i}' }]`).join('\n')}\n`;

describe('parseRulesInWorker', () => {
  it('gives what parseRules gives, lanes in order across its slices, with the fallback policy', async () => {
    const text = lanes(450); // three slices of lanes
    const expected = parseRules(text);
    const got = await parseRulesInWorker(text);
    expect(got.rules).toEqual(expected.rules);
    expect(got.warnings).toEqual(expected.warnings);
    expect(got.policy).toEqual(fallbackPolicy(expected.rules));
  });

  it('rejects invalid rules with the same typed error and every issue', async () => {
    const text = 'lanes:\n  - tag: "a b"\n  - tag: ok\n    strict: maybe\n';
    const error = await parseRulesInWorker(text, { source: 'x.yaml' }).catch((e: unknown) => e);
    expect(isGraylaneError(error)).toBe(true);
    expect((error as { code: string }).code).toBe(ErrorCode.RULE_INVALID);
    expect((error as Error).message).toContain('in x.yaml (2 problems)');
    expect(((error as { details: { issues: { path: string }[] } }).details.issues).map((i) => i.path)).toEqual([
      'documents[0].lanes[0].tag',
      'documents[0].lanes[1].strict',
    ]);
  });

  it('stops on abort: the worker is terminated and the promise rejects with the reason', async () => {
    const controller = new AbortController();
    const pending = parseRulesInWorker(lanes(3000), { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stop')), 20);
    await expect(pending).rejects.toThrow('stop');
  });
});
