import { parseRules, validateRules } from '../src/index.js';

/** The seed article's TrafficLabelRule, as printed there (its indentation restored). */
const SEED_TRAFFIC_LABEL_RULE = `apiVersion: traffic.opensergo.io/v1alpha1
kind: TrafficLabelRule
metadata:
  name: my-traffic-label-rule
  labels:
    app: my-app
spec:
  selector:
    app: my-app
  trafficLabel: gray
  match:
  - condition: "=="
    type: header
    key: 'X-User-Id'
    value: 12345
  - condition: "=="
    type: path
    value: "/index"
`;

const SEED_WORKLOAD_LABEL_RULE = `apiVersion: traffic.opensergo.io/v1alpha1
kind: WorkloadLabelRule
metadata:
  name: gray-sts-label-rule
spec:
  workloadLabels: ['gray']
  selector:
    app: my-app-gray
`;

function errorsOf(text: string): Record<string, string> {
  try {
    parseRules(text);
  } catch (error) {
    const issues = (error as { details: { issues: { path: string; message: string }[] } }).details.issues;
    return Object.fromEntries(issues.map((issue) => [issue.path, issue.message]));
  }
  throw new Error('expected the rules to be rejected');
}

describe('OpenSergo TrafficLabelRule and WorkloadLabelRule', () => {
  it('parses the seed rules exactly as printed; the number 12345 becomes "12345"', () => {
    const { rules, warnings } = parseRules(`${SEED_TRAFFIC_LABEL_RULE}---\n${SEED_WORKLOAD_LABEL_RULE}`);
    expect(warnings).toEqual([]);
    expect(rules.lanes).toHaveLength(1);
    expect(rules.lanes[0]!.match).toEqual([
      {
        priority: 0,
        entries: ['my-app'],
        condition: {
          all: [
            { type: 'header', name: 'x-user-id', operator: '==', value: '12345' },
            { type: 'path', name: '', operator: '==', value: '/index' },
          ],
        },
      },
    ]);
    expect(rules.workloads).toEqual([{ app: 'my-app-gray', labels: ['gray'] }]);
  });

  it('ORs TrafficLabelRules with the same trafficLabel (the demo rules: group=gray or env=gray)', () => {
    const doc = (key: string) => `apiVersion: traffic.opensergo.io/v1alpha1
kind: TrafficLabelRule
metadata: { name: gray-by-${key} }
spec:
  selector: { app: a }
  trafficLabel: gray
  match:
    - { condition: "==", type: param, key: ${key}, value: gray }
`;
    const { rules } = parseRules(`---\n${doc('group')}---\n${doc('env')}`);
    expect(rules.lanes).toHaveLength(1);
    expect(rules.lanes[0]!.match.map((rule) => rule.condition)).toEqual([
      { type: 'query', name: 'group', operator: '==', value: 'gray' },
      { type: 'query', name: 'env', operator: '==', value: 'gray' },
    ]);
  });

  it('maps list and presence conditions', () => {
    const { rules } = parseRules(`apiVersion: traffic.opensergo.io/v1alpha1
kind: TrafficLabelRule
spec:
  trafficLabel: gray
  match:
    - { condition: in, type: cookie, key: uid, value: "1, 2" }
    - { condition: exists, type: header, key: x-canary }
    - { condition: prefix, type: path, value: /api }
`);
    expect(rules.lanes[0]!.match[0]!).toMatchObject({
      entries: undefined,
      condition: {
        all: [
          { type: 'cookie', name: 'uid', operator: 'in', values: ['1', '2'] },
          { type: 'header', name: 'x-canary', operator: 'exists' },
          { type: 'path', operator: 'prefix', value: '/api' },
        ],
      },
    });
  });

  it('reports problems with document paths', () => {
    const errors = errorsOf(`${SEED_TRAFFIC_LABEL_RULE.replace('condition: "=="\n    type: path', 'condition: "=~"\n    type: path')}---
apiVersion: traffic.opensergo.io/v1alpha1
kind: TrafficLabelRule
spec:
  trafficLabel: gray
  selectors: { app: x }
  match:
    - { condition: "==", type: header, value: x }
---
kind: VirtualWorkloads
`);
    expect(errors['documents[0].spec.match[1].condition']).toMatch(/must be one of/);
    expect(errors['documents[1].spec.selectors']).toMatch(/unknown field/);
    expect(errors['documents[1].metadata']).toBeUndefined();
    expect(errors['documents[2].kind']).toMatch(/unknown kind "VirtualWorkloads".*TrafficRouter/);
  });

  it('reports a missing key for header conditions at the key', () => {
    const errors = errorsOf(`apiVersion: traffic.opensergo.io/v1alpha1
kind: TrafficLabelRule
spec:
  trafficLabel: gray
  match:
    - { condition: "==", type: header, value: x }
`);
    expect(errors['documents[0].spec.match[0].key']).toMatch(/is required/);
  });

  it('reports the seed YAML printed without indentation instead of misreading it', () => {
    const flat = SEED_TRAFFIC_LABEL_RULE.split('\n').map((line) => line.trimStart()).join('\n');
    expect(() => parseRules(flat)).toThrow(/documents\[0\]/);
  });
});

describe('OpenSergo TrafficRouter', () => {
  const router = `apiVersion: traffic.opensergo.io/v1alpha1
kind: TrafficRouter
metadata: { name: service-provider }
spec:
  hosts: [service-provider]
  http:
    - match:
        - headers: { X-User-Id: { exact: "12345" } }
          uri: { prefix: /index }
        - queryParams: { env: { exact: gray } }
      route:
        - destination:
            host: service-provider
            subset: gray
            fallback: { host: service-provider, subset: rc }
    - match:
        - method: { regex: "^(GET|HEAD)$" }
      route:
        - destination: { host: service-provider, subset: canary }
          weight: 20
        - destination: { host: service-provider }
          weight: 80
    - route:
        - destination: { host: service-provider, subset: rc }
`;

  it('turns routes into lanes in route order', () => {
    const { rules, warnings } = parseRules(router);
    expect(warnings).toEqual([]);
    const lanes = Object.fromEntries(rules.lanes.map((lane) => [lane.tag, lane]));
    expect(lanes.gray!.fallback).toEqual(['rc', 'base']);
    expect(lanes.gray!.match).toEqual([
      {
        priority: 0,
        entries: ['service-provider'],
        condition: {
          any: [
            { all: [{ type: 'header', name: 'x-user-id', operator: '==', value: '12345' }, { type: 'path', name: '', operator: 'prefix', value: '/index' }] },
            { type: 'query', name: 'env', operator: '==', value: 'gray' },
          ],
        },
      },
    ]);
    // Envoy's regex: the whole value must match.
    const method = { type: 'method', name: '', operator: 'regex', value: '^(?:^(GET|HEAD)$)$' };
    expect(lanes.canary!.match[0]).toMatchObject({ priority: 1, condition: { all: [method, { operator: 'random', percentage: 20 }] } });
    expect(lanes.base!.match[0]).toMatchObject({ priority: 2, condition: method });
    expect(lanes.rc!.match[0]).toMatchObject({ priority: 3, condition: { all: [] } });
  });

  it('checks hosts, weights and string matches', () => {
    const errors = errorsOf(`apiVersion: traffic.opensergo.io/v1alpha1
kind: TrafficRouter
spec:
  hosts: [a]
  http:
    - match: [{ uri: { exact: /x, prefix: /y } }]
      route: [{ destination: { host: b, subset: gray } }]
    - route:
        - { destination: { host: a, subset: x }, weight: 30 }
        - { destination: { host: a, subset: y }, weight: 30 }
    - route:
        - { destination: { host: a, fallback: { host: a, subset: x } } }
`);
    expect(errors['documents[0].spec.http[0].match[0].uri']).toMatch(/exactly one of exact, prefix, regex/);
    expect(errors['documents[0].spec.http[1].route']).toMatch(/add up to 60/);
    expect(errors['documents[0].spec.http[2].route[0].destination.fallback']).toMatch(/base has no fallback/);
  });

  it('warns when a route can never match', () => {
    const { warnings } = parseRules(`apiVersion: traffic.opensergo.io/v1alpha1
kind: TrafficRouter
spec:
  hosts: [a]
  http:
    - route: [{ destination: { host: a } }]
    - match: [{ headers: { x: { exact: "1" } } }]
      route: [{ destination: { host: a, subset: gray } }]
`);
    expect(warnings).toEqual([
      expect.objectContaining({ path: 'documents[0].spec.http[1]', message: expect.stringMatching(/can never match/) }),
    ]);
  });
});

describe('validateRules', () => {
  it('accepts a list of mixed documents', () => {
    const result = validateRules([
      { apiVersion: 'traffic.opensergo.io/v1alpha1', kind: 'WorkloadLabelRule', spec: { workloadLabels: ['gray'], selector: { app: 'a' } } },
      { lanes: [{ tag: 'gray', fallback: ['rc'] }] },
    ]);
    expect(result).toMatchObject({ ok: true, warnings: [expect.objectContaining({ path: 'documents[1].lanes[0].fallback' })] });
  });
});
