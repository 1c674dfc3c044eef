import fc from 'fast-check';
import { ErrorCode, isGraylaneError } from '@graylane/core';
import { parseRules, validateRules } from '../src/index.js';

function onlyTypedErrors(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    if (!isGraylaneError(error) || error.code !== ErrorCode.RULE_INVALID) throw error;
    const issues = error.details.issues as { path: string; message: string; severity: string }[];
    expect(issues.length).toBeGreaterThan(0);
    for (const issue of issues) {
      expect(typeof issue.path).toBe('string');
      expect(issue.message.length).toBeGreaterThan(0);
    }
  }
}

/** Values shaped like rule documents, with junk in every position. */
const ruleish = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom('gray', 'base', 'header', 'query', '==', 'in', 'regex', '(a+)+', 'TrafficLabelRule', 'TrafficRouter', 'LaneRules', 'traffic.opensergo.io/v1alpha1', 'graylane.io/v1alpha1'),
    fc.string(),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(
      fc.constantFrom('lanes', 'tag', 'match', 'all', 'any', 'type', 'name', 'operator', 'value', 'values', 'kind', 'apiVersion', 'spec', 'trafficLabel', 'key', 'condition', 'http', 'route', 'destination', 'hosts', 'Tag', 'EntryRules', 'restItems', 'fallback', 'percentage', '__proto__', 'constructor'),
      tie('value'),
      { maxKeys: 6 },
    ),
  ),
})).value;

/** Mostly `valid`, sometimes junk: the documents reach the importers' deep paths, not only their first refusal. */
const mostly = <T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> => fc.oneof({ arbitrary: valid, weight: 12 }, { arbitrary: ruleish, weight: 1 });

/** A leaf of an APISIX `vars` expression: a variable, an operator (`!` negates), a value. */
const apisixVar = mostly(fc.oneof(fc.constantFrom('arg_env', 'http_x_user_id', 'cookie_uid', 'uri', 'host', 'request_method', 'arg_', 'http_', 'remote_addr', 'post_arg_x'), fc.string({ maxLength: 12 })));
const apisixOperator = mostly(fc.constantFrom('==', '~=', '>', '<', '>=', '<=', '~~', '~*', 'in', 'has', 'ipmatch', 'IN', '=', 'regex'));
const apisixValue = mostly(fc.oneof(fc.constantFrom('gray', '0', '^/b$', '(a|aa)+', '[', '12345678901234567890'), fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 })));
const apisixExpression = fc.letrec((tie) => ({
  expression: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.tuple(apisixVar, apisixOperator, apisixValue),
    fc.tuple(apisixVar, fc.constant('!'), apisixOperator, apisixValue),
    fc.tuple(fc.constantFrom('AND', 'OR', '!AND', '!OR'), fc.array(tie('expression'), { maxLength: 3 })).map(([join, items]) => [join, ...items]),
  ),
})).expression;
/** APISIX routes (standalone `routes:` lists and Admin API answers), junk here and there. */
const apisixRoute = fc.record(
  {
    uri: mostly(fc.constantFrom('/a/*', '/b', '*', '')),
    uris: fc.array(mostly(fc.constantFrom('/a', '/*')), { maxLength: 3 }),
    host: mostly(fc.constantFrom('*.example.com', 'a')),
    methods: fc.array(mostly(fc.constantFrom('GET', 'post', 'PURGE')), { maxLength: 3 }),
    priority: mostly(fc.oneof(fc.integer(), fc.double())),
    labels: mostly(fc.record({ lane: mostly(fc.constantFrom('gray', 'base', 'Gray', 'a b')) })),
    vars: fc.array(mostly(apisixExpression), { maxLength: 4 }),
    plugins: mostly(
      fc.record({
        'traffic-split': fc.record({
          rules: fc.array(
            fc.record(
              {
                match: fc.array(fc.record({ vars: fc.array(apisixExpression, { maxLength: 3 }) }), { maxLength: 2 }),
                weighted_upstreams: fc.array(
                  fc.record({ weight: mostly(fc.integer({ min: -1, max: 200 })), upstream: mostly(fc.record({ name: mostly(fc.constantFrom('gray', 'rc')) })) }, { requiredKeys: [] }),
                  { maxLength: 3 },
                ),
              },
              { requiredKeys: [] },
            ),
            { maxLength: 2 },
          ),
        }),
      }),
    ),
    id: fc.oneof(fc.integer(), fc.string()),
  },
  { requiredKeys: ['uri'] },
);
/** A route, sometimes with a field graylane refuses, in each of the shapes APISIX hands them out. */
const apisixDocument = fc
  .tuple(apisixRoute, fc.oneof({ arbitrary: fc.constant({}), weight: 8 }, { arbitrary: fc.constantFrom({ remote_addr: '10.0.0.1' }, { filter_func: 'function() return true end' }, { upstream: { nodes: {} } }), weight: 1 }))
  .chain(([route, extra]) => {
    const doc = { ...route, ...extra };
    return fc.constantFrom({ routes: [doc] }, doc, { key: '/apisix/routes/1', value: doc }, { list: [{ key: '/apisix/routes/1', value: doc }] });
  });

/** Istio VirtualServices, junk here and there in the HTTP matches and routes. */
const stringMatch = mostly(fc.oneof(fc.record({ exact: mostly(fc.constantFrom('gray', '1')) }), fc.record({ prefix: mostly(fc.constant('/a')) }), fc.record({ regex: mostly(fc.constantFrom('^(a|aa)+$', '[', 'gray')) })));
const istioDocument = fc.record({
  apiVersion: fc.constantFrom('networking.istio.io/v1', 'networking.istio.io/v1beta1', 'networking.istio.io/v1alpha3'),
  kind: fc.constant('VirtualService'),
  metadata: mostly(fc.record({ name: fc.string({ maxLength: 8 }) })),
  spec: fc.record(
    {
      hosts: fc.array(mostly(fc.constantFrom('c', 'c.default.svc.cluster.local', '*')), { maxLength: 2 }),
      http: fc.array(
        fc.record(
          {
            name: mostly(fc.string({ maxLength: 6 })),
            match: fc.array(
              fc.record({ headers: fc.dictionary(fc.constantFrom('x-user', 'x-mse-tag', ':authority'), stringMatch, { maxKeys: 2 }), uri: stringMatch, queryParams: fc.dictionary(fc.constantFrom('group', 'env'), stringMatch, { maxKeys: 2 }) }, { requiredKeys: [] }),
              { maxLength: 2 },
            ),
            route: fc.array(
              fc.record({ destination: fc.record({ host: mostly(fc.constant('c')), subset: mostly(fc.constantFrom('gray', 'base', 'v2')) }, { requiredKeys: [] }), weight: mostly(fc.integer({ min: -1, max: 101 })) }, { requiredKeys: [] }),
              { maxLength: 2 },
            ),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 3 },
      ),
    },
    { requiredKeys: [] },
  ),
});

describe('bad input', () => {
  it('never throws anything but GraylaneError RULE_INVALID (random text)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => onlyTypedErrors(() => parseRules(text))),
      { numRuns: 500 },
    );
  });

  it('never throws from validateRules, and parseRules of the JSON only throws the typed error', () => {
    fc.assert(
      fc.property(ruleish, (value) => {
        const result = validateRules(value);
        expect(typeof result.ok).toBe('boolean');
        onlyTypedErrors(() => parseRules(JSON.stringify(value) ?? 'null', { format: 'json' }));
      }),
      { numRuns: 1500 },
    );
  });

  it.each([
    ['APISIX routes (vars expressions, traffic-split, Admin API answers)', apisixDocument],
    ['Istio VirtualServices (HTTP match, routes to subsets)', istioDocument],
  ] as const)('never throws anything but the typed error on %s', (_form, documents) => {
    let accepted = 0;
    let withLanes = 0;
    fc.assert(
      fc.property(documents as fc.Arbitrary<unknown>, (doc) => {
        onlyTypedErrors(() => {
          const parsed = parseRules(JSON.stringify(doc) ?? 'null', { format: 'json' });
          accepted += 1;
          if (parsed.rules.lanes.length > 0) withLanes += 1;
        });
      }),
      { numRuns: 1500 },
    );
    // The generator reaches the importer, not only the form detection: some documents are read.
    expect({ accepted: accepted > 0, withLanes: withLanes > 0 }).toEqual({ accepted: true, withLanes: true });
  });

  it('rejects hostile nesting, non-string text and YAML alias bombs', () => {
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    onlyTypedErrors(() => parseRules(deep));
    expect(() => parseRules(deep)).toThrow(/nested deeper/);
    expect(() => parseRules(42 as unknown as string)).toThrow(/expected rule text/);
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]', ...'bcdefghi'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(', ')}]`)].join('\n');
    onlyTypedErrors(() => parseRules(bomb));
    expect(validateRules(undefined)).toMatchObject({ ok: false });
  });
});
