import { isGraylaneError } from '@graylane/core';
import { applyLaneStore, isLaneActive, laneRuleFromExpression, laneStoreState, parseLaneStore, parseRules, serializeLaneStore } from '../src/index.js';
import type { LaneObject, LaneStore } from '../src/index.js';

const at = '2026-01-01T00:00:00.000Z';
function lane(extra: Partial<LaneObject> = {}): LaneObject {
  return { tag: 'gray', rule: laneRuleFromExpression('gray', 'query:group=gray')!, services: ['a', 'c'], enabled: true, changedBy: 'me@host', changedAt: at, ...extra };
}
function store(...lanes: LaneObject[]): LaneStore {
  return { kind: 'graylane.io/v1alpha1/Lanes', lanes };
}

describe('lane store', () => {
  it('round-trips through its text', () => {
    const text = serializeLaneStore(store(lane({ expiresAt: '2026-01-01T02:00:00.000Z' })));
    expect(parseLaneStore(text)).toEqual(store(lane({ expiresAt: '2026-01-01T02:00:00.000Z' })));
    expect(parseLaneStore(undefined).lanes).toEqual([]);
  });

  it('rejects a bad tag, a rule without the lane, a duplicate, with paths', () => {
    const bad = JSON.stringify(store(lane({ tag: 'no way' }), lane({ rule: laneRuleFromExpression('other', 'query:x=1')! }), lane()));
    try {
      parseLaneStore(bad);
      throw new Error('accepted');
    } catch (error) {
      expect(isGraylaneError(error)).toBe(true);
      const paths = ((error as { details: { issues: Array<{ path: string }> } }).details.issues).map((issue) => issue.path);
      expect(paths).toEqual(['lanes[0].tag']);
    }
    try {
      parseLaneStore(JSON.stringify(store(lane({ rule: laneRuleFromExpression('other', 'query:x=1')! }), lane())));
      throw new Error('accepted');
    } catch (error) {
      const paths = ((error as { details: { issues: Array<{ path: string }> } }).details.issues).map((issue) => issue.path);
      expect(paths).toEqual(['lanes[0].rule', 'lanes[1].tag']);
    }
  });

  it('an expired or disabled lane is inactive; the next expiry is reported', () => {
    const now = Date.parse(at);
    expect(isLaneActive(lane({ expiresAt: '2026-01-01T00:00:01.000Z' }), now)).toBe(true);
    expect(isLaneActive(lane({ expiresAt: '2025-12-31T23:59:59.000Z' }), now)).toBe(false);
    expect(isLaneActive(lane({ enabled: false }), now)).toBe(false);
    const state = laneStoreState(store(lane({ expiresAt: '2026-01-01T00:00:05.000Z' }), lane({ tag: 'x', rule: '', enabled: false })), now);
    expect([...state.inactive]).toEqual(['x']);
    expect(state.nextExpiryMs).toBe(now + 5000);
  });

  it('an inactive lane object disables the lanes of its tag; an active one brings its rule', () => {
    const base = parseRules(JSON.stringify({ lanes: [{ tag: 'gray', match: [{ type: 'query', name: 'env', operator: '==', value: 'gray' }] }, { tag: 'blue' }] })).rules;
    const on = applyLaneStore(base, store(lane()));
    expect(on.lanes.map((l) => [l.tag, l.enabled, JSON.stringify(l.match)])).toEqual([
      ['blue', true, '[]'],
      ['gray', true, expect.stringContaining('"group"')],
    ]);
    const off = applyLaneStore(base, store(lane({ enabled: false })));
    expect(off.lanes.map((l) => [l.tag, l.enabled])).toEqual([
      ['gray', false],
      ['blue', true],
    ]);
  });
});
