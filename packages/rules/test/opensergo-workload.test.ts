import { validateRules } from '../src/index.js';

const virtualWorkload = (spec: unknown) => ({ apiVersion: 'traffic.opensergo.io/v1alpha1', kind: 'VirtualWorkload', metadata: { name: 'b' }, spec });

describe('OpenSergo VirtualWorkload', () => {
  test('subsets selected by their lane label are accepted; trafficPolicy is warned about', () => {
    const result = validateRules(
      virtualWorkload({
        host: 'b',
        trafficPolicy: { loadBalancer: { simple: 'RANDOM' } },
        subsets: [
          { name: 'gray', labels: { 'traffic.opensergo.io/label': 'gray' } },
          { name: 'blue', labels: { 'alicloud.service.tag': 'blue' } },
        ],
      }),
    );
    expect(result).toEqual({ ok: true, rules: { lanes: [], groups: [], workloads: [] }, warnings: [expect.objectContaining({ path: 'spec.trafficPolicy' })] });
  });

  test('a subset selected by another label, or by a lane label of another lane, is refused with what to write', () => {
    const result = validateRules(
      virtualWorkload({ host: 'b', subsets: [{ name: 'gray', labels: { version: 'v2' } }, { name: 'gray', labels: { 'traffic.opensergo.io/label': 'blue' } }] }),
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      expect.stringMatching(/^spec\.subsets\[0\]\.labels\.version: cannot be honoured: .*label the instances traffic\.opensergo\.io\/label: gray/),
      expect.stringMatching(/^spec\.subsets\[1\]\.labels\["traffic\.opensergo\.io\/label"\]: is "blue", but the subset is "gray"/),
    ]);
  });
});
