import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRules, validateRules } from '../src/index.js';

describe('TrafficRouter: the VirtualService fields it inherits', () => {
  test('the fixture: lanes as before; fields acting after the lane is chosen are warned about by name', () => {
    const { rules, warnings } = parseRules(readFileSync(join(__dirname, 'fixtures', 'opensergo-traffic-router.yaml'), 'utf8'));
    expect(rules.lanes.map((lane) => [lane.tag, lane.fallback])).toEqual([
      ['gray', ['rc', 'base']],
      ['rc', ['base']],
    ]);
    expect(rules.lanes[0]!.match[0]!.condition).toEqual({
      all: [
        { type: 'header', name: 'x-user-id', operator: '==', value: '12345' },
        { type: 'query', name: 'env', operator: '==', value: 'gray' },
        { type: 'path', name: '', operator: 'prefix', value: '/api/' },
        { type: 'method', name: '', operator: '==', value: 'GET' },
      ],
    });
    expect(warnings.map((w) => w.path.replace('documents[0].spec.', '')).sort()).toEqual(
      [
        'exportTo', 'gateways', 'rpc', 'http[0].timeout', 'http[0].retries', 'http[0].rewrite', 'http[0].route[0].headers',
        'http[0].route[0].destination.port', 'http[0].match[0].statPrefix',
      ].sort(),
    );
  });

  test('match fields graylane cannot read and redirects are refused with why', () => {
    const result = validateRules({
      apiVersion: 'traffic.opensergo.io/v1alpha1',
      kind: 'TrafficRouter',
      spec: {
        hosts: ['b'],
        http: [
          { match: [{ sourceLabels: { app: 'a' }, ignoreUriCase: true, uri: { prefix: '/A' } }], route: [{ destination: { host: 'b', subset: 'gray' } }] },
          { redirect: { uri: '/x' }, route: [{ destination: { host: 'b' } }] },
        ],
      },
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      expect.stringMatching(/^spec\.http\[0\]\.match\[0\]\.sourceLabels: cannot be honoured: it names the calling workload/),
      expect.stringMatching(/^spec\.http\[0\]\.match\[0\]\.ignoreUriCase: cannot be honoured: .*\(\?i\)/),
      expect.stringMatching(/^spec\.http\[1\]\.redirect: cannot be honoured: it answers with a redirect/),
    ]);
  });
});
