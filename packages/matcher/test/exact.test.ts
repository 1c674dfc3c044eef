// Regression tests for exact decisions and linear-time regexes (issue: ids compared as numbers,
// a rule regex could hang the process).
import fc from 'fast-check';
import { parseRules, validateRules } from '@graylane/rules';
import { compileMatcher, requestView } from '../src/index.js';

function matcherFor(condition: Record<string, unknown>) {
  const result = validateRules({ lanes: [{ tag: 'gray', match: [condition] }] });
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  const matcher = compileMatcher(result.rules);
  return (value: string) => matcher.match(requestView({ headers: { 'x-user-id': value } })) === 'gray';
}

describe('exact decisions', () => {
  const isUser12345 = matcherFor({ type: 'header', name: 'X-User-Id', operator: '==', value: '12345' });

  it.each(['012345', '12345.0', '1.2345e4', '+12345', ' 12345'])('== 12345 does not match %s', (other) => {
    expect(isUser12345(other)).toBe(false);
    expect(isUser12345('12345')).toBe(true);
  });

  it('two different 19-digit ids are not equal', () => {
    const isId = matcherFor({ type: 'header', name: 'X-User-Id', operator: '==', value: '1234567890123456789' });
    expect(isId('1234567890123456788')).toBe(false);
    expect(isId('1234567890123456789')).toBe(true);
  });

  it('in compares strings exactly', () => {
    const inList = matcherFor({ type: 'header', name: 'X-User-Id', operator: 'in', values: ['12345', '9007199254740993'] });
    expect(['12345', '012345', '9007199254740993', '9007199254740992'].map(inList)).toEqual([true, false, true, false]);
  });

  it('ordering operators compare integers of any length without loss', () => {
    const above = matcherFor({ type: 'header', name: 'X-User-Id', operator: '>', value: '9007199254740992' });
    expect(['9007199254740993', '9007199254740992', '100000000000000000000000', '-1'].map(above)).toEqual([true, false, true, false]);
  });

  it('string equality never admits a different string (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 30 }), fc.string({ maxLength: 30 }), (expected, actual) => {
        fc.pre(!/[\u0000-\u001f\u007f]/.test(expected + actual) && expected.trim() === expected && actual.trim() === actual);
        const result = validateRules({ lanes: [{ tag: 'gray', match: [{ type: 'header', name: 'x-v', operator: '==', value: expected }] }] });
        fc.pre(result.ok);
        if (!result.ok) return;
        const matched = compileMatcher(result.rules).match(requestView({ headers: { 'x-v': actual } })) === 'gray';
        return matched === (actual === expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('digit strings: == holds only for the same digits (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{1,25}$/), fc.stringMatching(/^[0-9]{1,25}$/), (a, b) => {
        const matches = matcherFor({ type: 'header', name: 'X-User-Id', operator: '==', value: a });
        return matches(b) === (a === b);
      }),
      { numRuns: 300 },
    );
  });
});

describe('regexes cannot hang', () => {
  it.each([
    ['^(a|aa)+$', 'a'.repeat(40) + 'b'],
    ['^a*a*a*a*a*a*b$', 'a'.repeat(200)],
    ['^a*a*a*a*a*a*b$', 'a'.repeat(4096)],
    ['(a+)+$', 'a'.repeat(4000) + '!'],
  ])('%s on %#: a pathological input is answered at once', (pattern, input) => {
    const matches = matcherFor({ type: 'header', name: 'X-User-Id', operator: 'regex', value: pattern });
    const started = process.hrtime.bigint();
    expect(matches(input)).toBe(false);
    // With JavaScript's backtracking engine the first case took 32 s and the second over 17 min;
    // the bound is generous so that a loaded machine does not fail it.
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(500);
  });

  it('still matches what the pattern says', () => {
    const matches = matcherFor({ type: 'header', name: 'X-User-Id', operator: 'regex', value: '^u-(1|22)+$' });
    expect(['u-1221', 'u-', 'u-13', 'xu-1'].map(matches)).toEqual([true, false, false, false]);
  });

  it('refuses backreferences and lookaround with the path and what to do instead', () => {
    for (const pattern of ['(a)\\1', 'a(?=b)', '(?<!x)y']) {
      const result = validateRules({ lanes: [{ tag: 'gray', match: [{ type: 'header', name: 'x', operator: 'regex', value: pattern }] }] });
      expect(result.ok).toBe(false);
      if (result.ok) continue;
      expect(result.issues).toEqual([
        expect.objectContaining({ path: 'lanes[0].match[0].value', message: expect.stringMatching(/backreference or lookaround.*separate conditions/) }),
      ]);
    }
  });
});

// Each form's regex means what it means in the system that form comes from: a search in graylane's
// native form, OpenSergo's TrafficLabelRule, MSE and APISIX (`~~`); the whole value in Istio and in
// OpenSergo's TrafficRouter (an Istio VirtualService: Envoy's RE2 full match).
describe('regex semantics per form', () => {
  const forms: [form: string, text: string, whole: boolean][] = [
    ['native', `lanes: [{ tag: gray, match: [{ type: header, name: x-user, operator: regex, value: 'u1' }] }]`, false],
    [
      'OpenSergo TrafficLabelRule',
      `apiVersion: traffic.opensergo.io/v1alpha1
kind: TrafficLabelRule
metadata: { name: r, labels: { app: a } }
spec:
  selector: { app: a }
  trafficLabel: gray
  match: [{ condition: regex, type: header, key: x-user, value: 'u1' }]`,
      false,
    ],
    ['APISIX ~~', `routes: [{ uri: '/*', labels: { lane: gray }, vars: [[http_x_user, '~~', 'u1']] }]`, false],
    [
      'Istio VirtualService',
      `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: a }
spec:
  hosts: [a]
  http:
    - match: [{ headers: { x-user: { regex: 'u1' } } }]
      route: [{ destination: { host: a, subset: gray } }]`,
      true,
    ],
    [
      'OpenSergo TrafficRouter',
      `apiVersion: traffic.opensergo.io/v1alpha1
kind: TrafficRouter
metadata: { name: a }
spec:
  hosts: [a]
  http:
    - match: [{ headers: { x-user: { regex: 'u1' } } }]
      route: [{ destination: { host: a, subset: gray } }]`,
      true,
    ],
  ];

  it.each(forms)('%s', (_form, text, whole) => {
    const { rules } = parseRules(text);
    const matcher = compileMatcher(rules);
    const lane = (value: string) => matcher.match(requestView({ path: '/x', headers: { 'x-user': value } }));
    expect(lane('u1')).toBe('gray');
    expect(lane('xu1x')).toBe(whole ? undefined : 'gray');
  });
});
