import { ErrorCode, isGraylaneError } from '@graylane/core';
import { parseRules, validateRules } from '@graylane/rules';
import type { LaneRuleSet } from '@graylane/rules';
import { compileMatcher, requestView } from '../src/index.js';

function rules(input: unknown): LaneRuleSet {
  const result = validateRules(input);
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.rules;
}

const header = (name: string) => ({ type: 'header', name, operator: 'exists' });

describe('compileMatcher', () => {
  it('routes the demo rules: group=gray OR env=gray', () => {
    const demo = (key: string) => `apiVersion: traffic.opensergo.io/v1alpha1
kind: TrafficLabelRule
metadata: { name: gray-by-${key}, labels: { app: a } }
spec:
  selector: { app: a }
  trafficLabel: gray
  match:
    - condition: "=="
      type: param
      key: ${key}
      value: gray
`;
    const matcher = compileMatcher(parseRules(`---\n${demo('group')}---\n${demo('env')}`).rules);
    expect(matcher.match(requestView({ path: '/A/a', query: { group: 'gray' } }))).toBe('gray');
    expect(matcher.match(requestView({ path: '/a', query: { env: 'gray' } }))).toBe('gray');
    expect(matcher.match(requestView({ path: '/a', query: { env: 'prod' } }))).toBeUndefined();
    expect(compileMatcher(parseRules(demo('env')).rules, { entry: 'b' }).match(requestView({ query: { env: 'gray' } }))).toBeUndefined();
  });

  it('picks the winner by priority, then lane order, and base lanes pin requests to base', () => {
    const set = rules({
      lanes: [
        { tag: 'a', match: [header('x')] },
        { tag: 'b', match: [header('x')] },
        { tag: 'c', priority: -1, match: [header('y')] },
        { tag: 'base', priority: -2, match: [header('internal')] },
      ],
    });
    const matcher = compileMatcher(set);
    expect(matcher.match(requestView({ headers: { x: '1' } }))).toBe('a');
    expect(matcher.match(requestView({ headers: { x: '1', y: '1' } }))).toBe('c');
    expect(matcher.match(requestView({ headers: { x: '1', internal: '1' } }))).toBeUndefined();
    expect(matcher.explain(requestView({ headers: { x: '1', internal: '1' } }))).toMatchObject({ lane: undefined, rule: { tag: 'base', laneIndex: 3 } });
  });

  it('scopes rules to entries through lane groups and rule entries', () => {
    const set = rules({
      groups: [{ name: 'g', entries: ['gateway'] }],
      lanes: [
        { tag: 'a', group: 'g', match: [header('x')] },
        { tag: 'b', match: [{ ...header('x'), entries: ['svc'] }] },
      ],
    });
    const req = requestView({ headers: { x: '1' } });
    expect(compileMatcher(set, { entry: 'gateway' }).match(req)).toBe('a');
    expect(compileMatcher(set, { entry: 'svc' }).match(req)).toBe('b');
    expect(compileMatcher(set, { entry: 'other' }).match(req)).toBeUndefined();
    expect(compileMatcher(set).match(req)).toBe('a');
  });

  it('applies lane percentages: random shares one draw, sticky follows the key', () => {
    const set = rules({ lanes: [{ tag: 'a', percentage: 10 }, { tag: 'b', percentage: 30 }] });
    const at = (r: number) => compileMatcher(set, { random: () => r }).match(requestView({}));
    expect([at(0.05), at(0.15), at(0.29), at(0.3), at(0.99)]).toEqual(['a', 'b', 'b', undefined, undefined]);
    const sticky = compileMatcher(rules({ lanes: [{ tag: 'a', percentage: { value: 50, key: { type: 'cookie', name: 'uid' } } }] }));
    const lanes = Array.from({ length: 200 }, (_, i) => sticky.match(requestView({ cookies: { uid: `u${i}` } })));
    expect(lanes.filter((lane) => lane === 'a').length).toBeGreaterThan(70);
    expect(lanes.filter((lane) => lane === undefined).length).toBeGreaterThan(70);
    expect(sticky.match(requestView({}))).toBeUndefined();
  });

  it('explains which rule decided and which percentages turned the request away', () => {
    const set = rules({
      lanes: [
        { tag: 'a', percentage: 10, match: [header('x')] },
        { tag: 'b', match: [{ type: 'header', name: 'x', operator: '==', value: '1' }] },
      ],
    });
    const matcher = compileMatcher(set, { random: () => 0.5 });
    expect(matcher.explain(requestView({ headers: { x: '1' } }))).toEqual({
      lane: 'b',
      rule: { tag: 'b', laneIndex: 1, ruleIndex: 0, priority: 0, condition: { type: 'header', name: 'x', operator: '==', value: '1' } },
      notAdmitted: [{ tag: 'a', laneIndex: 0, ruleIndex: 0, priority: 0, condition: { type: 'header', name: 'x', operator: 'exists' } }],
    });
    expect(matcher.explain(requestView({}))).toEqual({ lane: undefined, rule: undefined, notAdmitted: [] });
  });

  it('refuses unknown attributes with RULE_INVALID and paths, and takes a nested-quantifier regex (RE2 runs it in linear time)', () => {
    const set = rules({
      lanes: [
        {
          tag: 'a',
          match: [
            { type: 'header', name: 'x', operator: 'regex', value: '(a+)+$' },
            { all: [header('y'), { type: 'attribute', name: 'tenant', operator: 'exists' }] },
          ],
        },
      ],
    });
    let error: unknown;
    try {
      compileMatcher(set);
    } catch (e) {
      error = e;
    }
    expect(isGraylaneError(error) && error.code === ErrorCode.RULE_INVALID).toBe(true);
    expect((error as { details: { issues: unknown } }).details.issues).toEqual([
      { path: 'lanes[0].match[1].all[1].name', message: expect.stringMatching(/attribute "tenant" is not supplied/), severity: 'error' },
    ]);
    expect(() => compileMatcher(set, { attributes: { tenant: () => 'x' } })).not.toThrow();
  });

  it('memoises shared predicates per request without leaking results across requests', () => {
    let reads = 0;
    const attributes = { tenant: (req: { header(name: string): string | undefined }) => { reads++; return req.header('t'); } };
    const tenant = { type: 'attribute', name: 'tenant', operator: '==', value: 't1' };
    const set = rules({
      lanes: [
        { tag: 'a', match: [{ all: [tenant, header('a')] }] },
        { tag: 'b', match: [{ all: [tenant, header('b')] }] },
      ],
    });
    const matcher = compileMatcher(set, { attributes });
    expect(matcher.match(requestView({ headers: { t: 't1', b: '1' } }))).toBe('b');
    expect(reads).toBe(1);
    expect(matcher.match(requestView({ headers: { t: 't2', b: '1' } }))).toBeUndefined();
    expect(reads).toBe(2);
  });
});
