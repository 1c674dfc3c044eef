import { parseRules, validateRules } from '../src/index.js';

const trafficLabelRule = (selector: Record<string, string>) => ({
  apiVersion: 'traffic.opensergo.io/v1alpha1',
  kind: 'TrafficLabelRule',
  metadata: { name: 'r' },
  spec: { selector, trafficLabel: 'gray', match: [{ condition: '==', type: 'header', key: 'x-user-id', value: '1' }] },
});
const workloadLabelRule = (selector: Record<string, string>) => ({
  apiVersion: 'traffic.opensergo.io/v1alpha1',
  kind: 'WorkloadLabelRule',
  metadata: { name: 'w' },
  spec: { workloadLabels: ['gray'], selector },
});
const issuesOf = (input: unknown) => {
  const result = validateRules(input);
  return (result.ok ? result.warnings : result.issues).map((issue) => `${issue.severity} ${issue.path}: ${issue.message}`);
};

describe('OpenSergo selectors with labels other than app', () => {
  test('TrafficLabelRule: app (or app.kubernetes.io/name) scopes the rule; other labels are warned about by name', () => {
    const result = validateRules(trafficLabelRule({ app: 'a', version: 'v2', 'app.kubernetes.io/name': 'a' }));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.rules.lanes[0]!.match[0]!.entries).toEqual(['a']);
    expect(result.warnings).toEqual([
      { path: 'spec.selector.version', message: expect.stringContaining('every instance of app "a" applies this rule, whatever its version'), severity: 'warning' },
    ]);
    const k8s = parseRules(JSON.stringify(trafficLabelRule({ 'app.kubernetes.io/name': 'b' })));
    expect(k8s.rules.lanes[0]!.match[0]!.entries).toEqual(['b']);
  });

  test('TrafficLabelRule: a selector without an app, or naming two apps, is refused with what to write', () => {
    expect(issuesOf(trafficLabelRule({ version: 'v2' }))).toEqual([expect.stringMatching(/^error spec\.selector: selects by version only; .* add app: /)]);
    expect(issuesOf(trafficLabelRule({ app: 'a', 'app.kubernetes.io/name': 'b' }))).toEqual([
      expect.stringMatching(/^error spec\.selector\["app\.kubernetes\.io\/name"\]: names app "b" but app names "a"; keep one/),
    ]);
  });

  test('WorkloadLabelRule: other labels are refused (ignoring them would label every instance of the app)', () => {
    expect(issuesOf(workloadLabelRule({ app: 'a', version: 'v2' }))).toEqual([
      expect.stringMatching(/^error spec\.selector\.version: cannot be honoured: graylane labels all instances of an app.*own app name/),
    ]);
    const result = validateRules(workloadLabelRule({ 'app.kubernetes.io/name': 'a-gray' }));
    expect(result.ok && result.rules.workloads).toEqual([{ app: 'a-gray', labels: ['gray'] }]);
    expect(issuesOf(workloadLabelRule({}))).toEqual(['error spec.selector.app: is required: the app whose workloads serve these lanes']);
  });
});
