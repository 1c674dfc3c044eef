import { ErrorCode, isGraylaneError } from '@graylane/core';
import type { RuleIssue } from '../src/index.js';
import { parseRules } from '../src/index.js';

/** Every error of `text`, as `path: message` pairs; fails when the text parses. */
function errorsOf(text: string): [string, string][] {
  try {
    parseRules(text, { source: 'test' });
  } catch (error) {
    if (!isGraylaneError(error) || error.code !== ErrorCode.RULE_INVALID) throw error;
    const issues = error.details['issues'] as RuleIssue[];
    return issues.filter((issue) => issue.severity === 'error').map((issue) => [issue.path, issue.message]);
  }
  throw new Error('expected the rules to be refused');
}

function pathsOf(text: string): string[] {
  return errorsOf(text).map(([path]) => path);
}

describe('every problem in one pass, each with its path', () => {
  it('a bad lane field hides neither the lane\'s match rules nor the next lane (native, bare)', () => {
    const paths = pathsOf(`
lanes:
  - tag: gray
    strict: yes-please
    match:
      - { type: header, name: X-Env, operator: equals, value: gray }
      - { type: header, name: X-B, operator: regex, value: '(a)\\1' }
  - tag: blue
    colour: red
    match:
      - { type: query, operator: '==', value: gray }
`);
    expect(paths).toEqual([
      'documents[0].lanes[0].strict',
      'documents[0].lanes[0].match[0].operator',
      'documents[0].lanes[0].match[1].value',
      'documents[0].lanes[1].colour',
      'documents[0].lanes[1].match[0].name',
    ]);
  });

  it('a bad envelope field hides nothing in the spec (native LaneRules), nor a bad group the lanes', () => {
    const paths = pathsOf(`
apiVersion: graylane.io/v1alpha1
kind: LaneRules
extra: 1
spec:
  groups:
    - { name: g, entries: [] }
    - { name: h, entries: [gateway], colour: red }
  lanes:
    - tag: "bad tag"
      match:
        - { type: header, name: a, operator: regex, value: '(?=a)b' }
    - tag: gray
      percentage: 101
      fallback: [gray]
  workloads:
    - { app: c, labels: [] }
`);
    expect(paths).toEqual([
      'documents[0].extra',
      'documents[0].spec.groups[0].entries',
      'documents[0].spec.groups[1].colour',
      'documents[0].spec.workloads[0].labels',
      'documents[0].spec.lanes[0].tag',
      'documents[0].spec.lanes[0].match[0].value',
      'documents[0].spec.lanes[1].percentage',
      'documents[0].spec.lanes[1].fallback[0]',
    ]);
  });

  it('YAML paths start with documents[0], and every document of a multi-document file is checked', () => {
    const paths = pathsOf(`
lanes:
  - tag: gray
    enabled: maybe
    match: [{ type: header, name: a, operator: '~', value: x }]
---
apiVersion: traffic.opensergo.io/v1alpha1
kind: TrafficLabelRule
metadata: { name: y }
colour: red
spec:
  selector: { app: a, app.kubernetes.io/name: b }
  trafficLabel: gray
  match:
    - { condition: "~=", type: header, key: x, value: y }
    - { condition: "regex", type: header, key: "", value: "(a)\\\\1" }
    - { condition: "regex", type: header, key: z, value: "(?<=x)y" }
---
apiVersion: traffic.opensergo.io/v1alpha1
kind: TrafficRouter
metadata: { name: r }
spec:
  hosts: []
  http:
    - match: [{ headers: { x-user: { regex: "(a)\\\\1" } } }]
      route: [{ destination: { host: b, subset: gray }, weight: 60 }]
    - name: 7
      route: []
    - redirect: { uri: /x }
      match: [{ uri: { prefix: /a, exact: /b } }]
      route: [{ destination: { host: b, subset: gray } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: v }
status: {}
bogus: true
spec:
  hosts: [b]
  http:
    - match: [{ headers: { x-user: { regex: "(?=x)" } } }]
      route: [{ destination: { host: c, subset: gray } }]
---
Tag: ""
EntryRules:
  - condition: XOR
    restItems: [{ type: header, name: a, operator: rawvalue, cond: "==", value: x }]
  - restItems: [{ type: header, name: "", operator: rawvalue, cond: "~~", value: x }]
`);
    expect(paths.every((path) => /^documents\[[0-4]\]/.test(path))).toBe(true);
    expect(paths).toEqual(
      expect.arrayContaining([
        // native
        'documents[0].lanes[0].enabled',
        'documents[0].lanes[0].match[0].operator',
        // TrafficLabelRule: the envelope, the selector and each match entry
        'documents[1].colour',
        'documents[1].spec.selector["app.kubernetes.io/name"]',
        'documents[1].spec.match[0].condition',
        'documents[1].spec.match[1].key',
        'documents[1].spec.match[2].value',
        // TrafficRouter: the spec, and every route
        'documents[2].spec.hosts',
        'documents[2].spec.http[0].match[0].headers["x-user"].regex',
        'documents[2].spec.http[1].name',
        'documents[2].spec.http[1].route',
        'documents[2].spec.http[2].redirect',
        'documents[2].spec.http[2].match[0].uri',
        // VirtualService: the envelope, and the route under it
        'documents[3].bogus',
        'documents[3].spec.http[0].match[0].headers["x-user"].regex',
        // MSE: each entry rule, and the tag as written
        'documents[4].EntryRules[0].condition',
        'documents[4].EntryRules[1].restItems[0].name',
        'documents[4].EntryRules[1].restItems[0].cond',
        'documents[4].Tag',
      ]),
    );
    expect(paths).toHaveLength(19);
  });

  it('reports every error of a file with ten problems, in document order', () => {
    const lanes = Array.from({ length: 10 }, (_, i) => `  - tag: lane${i}\n    match: [{ type: header, name: h${i}, operator: nope${i}, value: x }]`);
    const errors = errorsOf(`lanes:\n${lanes.join('\n')}\n`);
    expect(errors.map(([path]) => path)).toEqual(Array.from({ length: 10 }, (_, i) => `documents[0].lanes[${i}].match[0].operator`));
    errors.forEach(([, message], i) => expect(message).toContain(`(got "nope${i}")`));
  });

  it('JSON lists of documents: paths start with documents[i]; a single JSON document has paths from its root', () => {
    expect(pathsOf('[{"lanes":[{"tag":"gray","strict":"x","match":[{"type":"header","operator":"=="}]}]}, {"Tag":"","EntryRules":[]}]')).toEqual([
      'documents[0].lanes[0].strict',
      'documents[0].lanes[0].match[0].value',
      'documents[1].Tag',
    ]);
    expect(pathsOf('{"lanes":[{"tag":"gray","strict":"x"},{"tag":"-"}]}')).toEqual(['lanes[0].strict', 'lanes[1].tag']);
  });

  it('a document with valid rules is still refused when another field of it is wrong (nothing half-imported)', () => {
    expect(pathsOf('lanes:\n  - tag: gray\n    strict: 3\n    match: [{ type: header, name: a, operator: "==", value: x }]\n')).toEqual([
      'documents[0].lanes[0].strict',
    ]);
  });
});
