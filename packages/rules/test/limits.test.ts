import { ErrorCode, isGraylaneError } from '@graylane/core';
import { MAX_DOCUMENTS, MAX_LANES, MAX_RULE_TEXT_LENGTH, parseRules, validateRules } from '../src/index.js';

function refusal(run: () => unknown): { path: string; message: string }[] {
  try {
    run();
  } catch (error) {
    expect(isGraylaneError(error) && error.code === ErrorCode.RULE_INVALID).toBe(true);
    return (error as { details: { issues: { path: string; message: string }[] } }).details.issues;
  }
  throw new Error('accepted');
}

describe('size limits', () => {
  it('refuses a text longer than the limit before parsing it', () => {
    const started = Date.now();
    const issues = refusal(() => parseRules(`# ${'x'.repeat(MAX_RULE_TEXT_LENGTH)}\nlanes: []\n`));
    expect(issues).toEqual([{ path: '', message: expect.stringMatching(/characters long; the limit is 33554432/), severity: 'error' }]);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('refuses more documents than the limit, in one issue', () => {
    const issues = refusal(() => parseRules(JSON.stringify(Array.from({ length: MAX_DOCUMENTS + 1 }, () => ({})))));
    expect(issues).toEqual([{ path: '', message: `has ${MAX_DOCUMENTS + 1} documents; the limit is ${MAX_DOCUMENTS} (see docs/reference/rules.md, size limits)`, severity: 'error' }]);
  });

  it('refuses more lanes than the limit', () => {
    const result = validateRules({ lanes: Array.from({ length: MAX_LANES + 1 }, (_, i) => ({ tag: `l${i}` })) });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues).toEqual([{ path: '', message: expect.stringMatching(/^has 100001 lanes; the limit is 100000/), severity: 'error' }]);
  }, 60_000);
});
