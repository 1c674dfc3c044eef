import { ErrorCode, isGraylaneError } from '@graylane/core';
import { fallbackPolicy, nativeRuleJsonSchema, parseRules, rulesInPrecedenceOrder, validateRules } from '../src/index.js';

function issuesOf(input: unknown) {
  const result = validateRules(input);
  if (result.ok) throw new Error('expected validation to fail');
  return result.issues;
}

describe('native rules', () => {
  it('fills defaults and normalises values', () => {
    const { rules, warnings } = parseRules(`
lanes:
  - tag: gray
    match:
      - { type: header, name: X-User-Id, operator: '==', value: 12345 }
      - { type: method, operator: in, values: [get, post] }
`);
    expect(warnings).toEqual([]);
    expect(rules.lanes).toEqual([
      {
        tag: 'gray',
        group: undefined,
        enabled: true,
        priority: 0,
        match: [
          { priority: 0, entries: undefined, condition: { type: 'header', name: 'x-user-id', operator: '==', value: '12345' } },
          { priority: 0, entries: undefined, condition: { type: 'method', name: '', operator: 'in', values: ['GET', 'POST'] } },
        ],
        percentage: undefined,
        fallback: ['base'],
        strict: false,
      },
    ]);
  });

  it('reads the Kubernetes-style LaneRules document', () => {
    const { rules } = parseRules(`
apiVersion: graylane.io/v1alpha1
kind: LaneRules
metadata: { name: demo }
spec:
  groups: [{ name: g, entries: [gateway], apps: [a, b] }]
  lanes:
    - tag: feature-x
      group: g
      percentage: { value: 10, key: { type: header, name: X-User-Id } }
      fallback: [rc]
    - tag: rc
      strict: true
  workloads: [{ app: a, labels: [rc] }]
`);
    expect(rules.groups).toEqual([{ name: 'g', entries: ['gateway'], apps: ['a', 'b'] }]);
    expect(rules.lanes[0]).toMatchObject({ group: 'g', percentage: { value: 10, key: { type: 'header', name: 'x-user-id' } } });
    expect(fallbackPolicy(rules)).toEqual({ fallback: { 'feature-x': ['rc', 'base'], rc: [] }, strict: ['rc'] });
    expect(rules.workloads).toEqual([{ app: 'a', labels: ['rc'] }]);
  });

  it('makes a frozen fallback policy that shares, with `previous`, the arrays of the chains that did not change', () => {
    const doc = (rcChain: string, strict: boolean) =>
      parseRules(`lanes:\n  - { tag: a, fallback: [rc] }\n  - { tag: rc, fallback: [${rcChain}], strict: ${strict} }\n  - { tag: b }\n`).rules;
    const first = fallbackPolicy(doc('b', false));
    expect(Object.isFrozen(first) && Object.isFrozen(first.fallback) && Object.isFrozen(first.fallback['a'])).toBe(true);
    const revised = fallbackPolicy(doc('a', false), first);
    expect(revised).toEqual(fallbackPolicy(doc('a', false)));
    expect(revised.fallback['a']).toBe(first.fallback['a']);
    expect(revised.fallback['rc']).not.toBe(first.fallback['rc']);
    expect(revised.strict).toBe(first.strict);
    const strict = fallbackPolicy(doc('a', true), revised);
    expect(strict.strict).toEqual(['rc']);
    // A previous policy made by hand (a plain object) lends nothing of its prototype.
    const byHand = fallbackPolicy(parseRules('lanes:\n  - { tag: toString, strict: true }\n').rules, { fallback: {}, strict: [] });
    expect(byHand.fallback['toString']).toEqual([]);
  });

  it('accepts every operator', () => {
    const field = { type: 'header', name: 'x' };
    const match = [
      ...['==', '!=', '>', '<', '>=', '<=', 'prefix', 'suffix', 'contains', 'regex'].map((operator) => ({ ...field, operator, value: '1' })),
      { ...field, operator: 'in', values: ['1', 2] },
      { ...field, operator: 'not in', values: ['1'] },
      { ...field, operator: 'exists' },
      { ...field, operator: 'not exists' },
      { ...field, operator: 'modulo', divisor: 10, remainder: 3 },
      { ...field, operator: 'modulo', divisor: 10, remainder: 3, compare: '<' },
      { ...field, operator: 'sticky', percentage: 20 },
      { operator: 'random', percentage: 5 },
      { any: [{ all: [{ type: 'path', operator: '==', value: '/a' }, { type: 'host', operator: 'suffix', value: '.COM' }] }] },
      { type: 'attribute', name: 'tenant', operator: '==', value: 't1' },
      { type: 'cookie', name: 'c', operator: 'exists' },
      { type: 'query', name: 'q', operator: 'exists' },
    ];
    const result = validateRules({ lanes: [{ tag: 'gray', match }] });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const conditions = result.rules.lanes[0]!.match.map((rule) => rule.condition);
    expect(conditions).toContainEqual({ type: 'header', name: 'x', operator: 'modulo', divisor: 10, remainder: 3, compare: '==' });
    expect(conditions).toContainEqual({ type: 'header', name: 'x', operator: 'in', values: ['1', '2'] });
    expect(conditions).toContainEqual({
      any: [{ all: [{ type: 'path', name: '', operator: '==', value: '/a' }, { type: 'host', name: '', operator: 'suffix', value: '.com' }] }],
    });
  });

  it('reports every problem at once, each with a path', () => {
    const issues = issuesOf({
      lanes: [
        { tag: 'gray', match: [{ type: 'header', name: 'x', operator: '==', value: 'a' }] },
        {
          tag: 'bad lane!',
          match: [
            { type: 'header', name: 'x', operator: '~=', value: 'a' },
            { type: 'query', operator: '==', value: 'a' },
            { type: 'path', name: 'p', operator: '==', value: '/' },
            { type: 'header', name: 'x', operator: 'regex', value: '(' },
            { all: [{ type: 'header', name: 'x', operator: 'in' }], colour: 'red' },
          ],
          percentage: 101,
          fallbak: ['rc'],
        },
        { tag: 'rc', fallback: ['base', 'rc'], strict: 'yes' },
      ],
    });
    const paths = issues.map((issue) => issue.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'lanes[1].tag',
        'lanes[1].percentage',
        'lanes[1].fallbak',
        'lanes[2].strict',
      ]),
    );
    const second = validateRules({
      lanes: [
        {
          tag: 'gray',
          match: [
            { type: 'header', name: 'x', operator: '~=', value: 'a' },
            { type: 'query', operator: '==', value: 'a' },
            { type: 'path', name: 'p', operator: '==', value: '/' },
            { type: 'header', name: 'x', operator: 'regex', value: '(' },
            { all: [{ type: 'header', name: 'x', operator: 'in' }], colour: 'red' },
          ],
          fallback: ['base', 'rc', 'gray'],
        },
      ],
    });
    expect(second.ok).toBe(false);
    if (second.ok) return;
    const byPath = Object.fromEntries(second.issues.map((issue) => [issue.path, issue.message]));
    expect(byPath['lanes[0].match[0].operator']).toMatch(/must be one of .*"==".*got "~="/);
    expect(byPath['lanes[0].match[1].name']).toMatch(/is required/);
    expect(byPath['lanes[0].match[2].name']).toMatch(/must be omitted/);
    expect(byPath['lanes[0].match[3].value']).toMatch(/not a valid RE2 regular expression/);
    expect(byPath['lanes[0].match[4].colour']).toMatch(/unknown field; expected one of: all, priority, entries/);
    expect(byPath['lanes[0].fallback[0]']).toMatch(/"base" ends the chain/);
    expect(byPath['lanes[0].fallback[2]']).toMatch(/cannot fall back to itself/);
  });

  it('throws GraylaneError RULE_INVALID with details.issues', () => {
    let error: unknown;
    try {
      parseRules('lanes: [{ tag: gray, match: [{ type: header, operator: "==", value: x }] }]', { source: 'rules.yaml' });
    } catch (e) {
      error = e;
    }
    expect(isGraylaneError(error)).toBe(true);
    if (!isGraylaneError(error)) return;
    expect(error.code).toBe(ErrorCode.RULE_INVALID);
    expect(error.message).toContain('rules.yaml');
    expect(error.details.issues).toEqual([
      { path: 'documents[0].lanes[0].match[0].name', message: expect.stringMatching(/is required/), severity: 'error' },
    ]);
  });

  it('rejects a lane declared twice and an undeclared group, and checks the base lane', () => {
    const paths = issuesOf([
      { lanes: [{ tag: 'gray', group: 'nope' }] },
      { lanes: [{ tag: 'gray' }, { tag: 'base', fallback: ['gray'] }] },
    ]).map((i) => [i.path, i.message]);
    expect(paths).toEqual(
      expect.arrayContaining([
        ['documents[0].lanes[0].group', expect.stringMatching(/not declared/)],
        ['documents[1].lanes[0].tag', expect.stringMatching(/already declared at documents\[0\].lanes\[0\]/)],
        ['documents[1].lanes[1].fallback', expect.stringMatching(/base lane has no fallback/)],
      ]),
    );
  });

  it('orders rules by priority, then lane order, then rule order', () => {
    const { rules } = parseRules(`
lanes:
  - tag: a
    match:
      - { type: header, name: x, operator: exists }
      - { type: header, name: y, operator: exists, priority: -1 }
  - tag: b
    priority: -1
    match: [{ type: header, name: z, operator: exists }]
  - tag: c
    percentage: 50
  - tag: d
    enabled: false
    match: [{ type: header, name: w, operator: exists }]
`);
    expect(rulesInPrecedenceOrder(rules).map((r) => [r.lane.tag, r.ruleIndex])).toEqual([
      ['a', 1],
      ['b', 0],
      ['a', 0],
      ['c', -1],
    ]);
  });

  it('exports a JSON Schema of the native form', () => {
    const schema = nativeRuleJsonSchema();
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    const text = JSON.stringify(schema);
    for (const word of ['lanes', 'groups', 'workloads', 'fallback', 'strict', 'percentage', 'not exists', 'sticky', 'LaneRules']) {
      expect(text).toContain(word);
    }
    (schema as { mutated?: boolean }).mutated = true;
    expect(nativeRuleJsonSchema()).not.toHaveProperty('mutated');
  });

  it('reads JSON, and JSON lists as documents', () => {
    expect(parseRules('{"lanes":[{"tag":"gray"}]}').rules.lanes).toHaveLength(1);
    expect(() => parseRules('[{"lanes":[{"tag":"gray"}]}, {"lanes":[{"tag":1}]}]')).toThrow(/documents\[1\]\.lanes\[0\]\.tag/);
    expect(() => parseRules('{"lanes": [', { format: 'json' })).toThrow(/not valid JSON/);
  });
});
