import { backoffDelay } from '../src/index.js';

describe('backoffDelay', () => {
  const curve = { firstMs: 100, maxMs: 5_000 };

  test('doubles from the first delay up to the longest, without jitter when asked', () => {
    const delays = Array.from({ length: 9 }, (_, attempt) => backoffDelay(attempt, { ...curve, jitter: false }));
    expect(delays).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
    expect(backoffDelay(10_000, { ...curve, jitter: false })).toBe(5000);
    expect(backoffDelay(-1, { ...curve, jitter: false })).toBe(100);
  });

  test('jitter draws each delay from [50 %, 100 %] of the curve', () => {
    expect(backoffDelay(2, curve, () => 0)).toBe(200);
    expect(backoffDelay(2, curve, () => 0.999999)).toBeCloseTo(400, 2);
    for (let attempt = 0; attempt < 12; attempt++) {
      const delay = backoffDelay(attempt, curve);
      const full = Math.min(5000, 100 * 2 ** attempt);
      expect(delay).toBeGreaterThanOrEqual(full / 2);
      expect(delay).toBeLessThanOrEqual(full);
    }
  });
});
