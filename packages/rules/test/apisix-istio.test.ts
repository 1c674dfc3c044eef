import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRules, validateRules } from '../src/index.js';
import type { RuleIssue } from '../src/index.js';

const fixture = (name: string) => readFileSync(join(__dirname, 'fixtures', name), 'utf8');
const NUMBER = '^-?[0-9]+(\\.[0-9]+)?$';

function problems(input: unknown): Record<string, string> {
  const result = validateRules(input);
  const issues: readonly RuleIssue[] = result.ok ? result.warnings : result.issues;
  return Object.fromEntries(issues.map((issue) => [`${issue.severity} ${issue.path}`, issue.message]));
}

describe('APISIX routes', () => {
  test('the apisix.yaml fixture: lanes, conditions, priorities and warnings', () => {
    const { rules, warnings } = parseRules(fixture('apisix-routes.yaml'));
    expect(rules.lanes.map((lane) => lane.tag)).toEqual(['gray', 'canary', 'base']);
    const gray = rules.lanes[0]!;
    expect(gray.match).toEqual([
      {
        priority: -10000,
        entries: undefined,
        condition: {
          all: [
            { type: 'path', name: '', operator: 'prefix', value: '/a/' },
            { type: 'host', name: '', operator: 'suffix', value: '.example.com' },
            { type: 'method', name: '', operator: 'in', values: ['GET', 'POST'] },
            {
              all: [
                { type: 'query', name: 'env', operator: '==', value: 'gray' },
                { any: [{ type: 'header', name: 'x-user-id', operator: 'not exists' }, { type: 'header', name: 'x-user-id', operator: '!=', value: '0' }] },
                { type: 'cookie', name: 'region', operator: 'in', values: ['hz', 'bj'] },
              ],
            },
          ],
        },
      },
    ]);
    const routeB = [
      { any: [{ type: 'path', name: '', operator: '==', value: '/b' }, { type: 'path', name: '', operator: '==', value: '/c' }] },
      { type: 'host', name: '', operator: '==', value: 'b.example.com' },
      {
        any: [
          { type: 'path', name: '', operator: 'regex', value: '^/b$' },
          // !AND over (x-canary == off, ! arg_debug in [...]) = x-canary is not off OR debug in [...]
          {
            any: [
              { any: [{ type: 'header', name: 'x-canary', operator: 'not exists' }, { type: 'header', name: 'x-canary', operator: '!=', value: 'off' }] },
              { type: 'query', name: 'debug', operator: 'in', values: ['1', 'true'] },
            ],
          },
          { all: [{ type: 'query', name: 'uid', operator: 'regex', value: NUMBER }, { type: 'query', name: 'uid', operator: '>', value: '100' }] },
          { type: 'header', name: 'user-agent', operator: 'regex', value: '(?i)mobile' },
        ],
      },
      { type: 'header', name: 'release', operator: '==', value: 'new' },
    ];
    expect(rules.lanes[1]!.match).toEqual([
      { priority: 0, entries: undefined, condition: { all: [...routeB, { operator: 'random', percentage: 25 }] } },
    ]);
    expect(rules.lanes[2]!.match).toEqual([{ priority: 1, entries: undefined, condition: { all: routeB } }]);
    const warned = warnings.map((w) => w.path);
    for (const field of ['id', 'name', 'desc', 'upstream_id', 'service_id', 'plugin_config_id', 'timeout', 'enable_websocket', 'create_time', 'update_time']) {
      expect(warned).toContain(`documents[0].routes[0].${field}`);
    }
    expect(warned).toEqual(
      expect.arrayContaining([
        'documents[0].routes[0].labels.team',
        'documents[0].routes[0].plugins["limit-count"]',
        'documents[0].routes[1].upstream',
        'documents[0].routes[1].plugins["traffic-split"]._meta',
        'documents[0].routes[1].plugins["traffic-split"].rules[0].weighted_upstreams[0].upstream.type',
        'documents[0].routes[1].plugins["traffic-split"].rules[0].weighted_upstreams[0].upstream.nodes',
      ]),
    );
  });

  test('an Admin API answer (list of {key, value}) is importable', () => {
    const { rules, warnings } = parseRules(fixture('apisix-admin-answer.json'));
    expect(rules.lanes).toHaveLength(1);
    expect(rules.lanes[0]!.tag).toBe('gray');
    expect(rules.lanes[0]!.match[0]!.condition).toEqual({
      all: [{ type: 'path', name: '', operator: '==', value: '/index' }, { type: 'query', name: 'env', operator: '==', value: 'gray' }],
    });
    expect(warnings.map((w) => w.path).sort()).toEqual(['list[0].createdIndex', 'list[0].key', 'list[0].modifiedIndex', 'list[0].value.id', 'list[0].value.upstream_id', 'total']);
  });

  test('the seed rule vars: [["arg_env","==","gray"]] with a lane label', () => {
    const { rules } = parseRules(JSON.stringify({ uri: '/*', labels: { lane: 'gray' }, vars: [['arg_env', '==', 'gray']] }));
    expect(rules.lanes[0]!.match[0]!.condition).toEqual({
      all: [{ type: 'path', name: '', operator: 'prefix', value: '/' }, { type: 'query', name: 'env', operator: '==', value: 'gray' }],
    });
  });

  test('a higher APISIX priority runs first', () => {
    const { rules } = parseRules(
      JSON.stringify([
        { uri: '/x', priority: 1, labels: { lane: 'low' } },
        { uri: '/x', priority: 5, labels: { lane: 'high' } },
      ]),
    );
    const byTag = Object.fromEntries(rules.lanes.map((lane) => [lane.tag, lane.match[0]!.priority]));
    expect(byTag.high!).toBeLessThan(byTag.low!);
  });

  test('constructs graylane cannot honour are refused with why, each with its path', () => {
    expect(
      problems({
        uri: '/x',
        labels: { lane: 'gray' },
        remote_addrs: ['10.0.0.0/8'],
        filter_func: 'function(vars) return true end',
        vars: [
          ['arg_a', 'has', 'x'],
          ['remote_addr', 'ipmatch', ['10.0.0.1']],
          ['http_x', '!', '~~', 'a'],
          ['arg_n', '!', '>', 3],
          ['request_uri', '==', '/x?a=1'],
          ['server_port', '==', '80'],
          ['arg_r', '~~', '(a)\\1'],
          ['arg_q', '=~', 'x'],
        ],
      }),
    ).toEqual({
      'error remote_addrs': expect.stringContaining('client address'),
      'error filter_func': expect.stringContaining('Lua code'),
      'error vars[0][1]': expect.stringContaining('"has" tests membership'),
      'error vars[1][0]': expect.stringContaining('"remote_addr" is not a request field'),
      'error vars[2][2]': expect.stringContaining('regex that must not match'),
      'error vars[3][2]': expect.stringContaining('write "<="'),
      'error vars[4][0]': expect.stringContaining('match the path with "uri"'),
      'error vars[5][0]': expect.stringContaining('"server_port" is not a request field'),
      'error vars[6][2]': expect.stringContaining('backreference'),
      'error vars[7][1]': expect.stringContaining('unknown operator "=~"'),
    });
    expect(
      problems({
        uri: '/x',
        plugins: { 'traffic-split': { rules: [{ weighted_upstreams: [{ upstream_id: 2, weight: 1 }, { upstream: { name: 'Bad name!' } }] }] } },
      }),
    ).toEqual({
      'error plugins["traffic-split"].rules[0].weighted_upstreams[0].upstream_id': expect.stringContaining('write upstream: {name: <lane>} inline'),
      'error plugins["traffic-split"].rules[0].weighted_upstreams[1].upstream.name': expect.stringContaining('is not a valid lane'),
    });
  });

  test('a route that names no lane is a warning; a disabled route contributes nothing', () => {
    expect(problems({ uri: '/x', vars: [['arg_a', '==', '1']], upstream: { nodes: {} } })).toEqual({
      'warning upstream': expect.stringContaining('is ignored'),
      'warning ': expect.stringContaining('names no lane'),
    });
    const result = validateRules({ uri: '/x', status: 0, labels: { lane: 'gray' } });
    expect(result.ok && result.rules.lanes).toEqual([]);
  });

  test('uneven weights are rounded to whole percentages, with a warning', () => {
    const result = validateRules({
      uri: '/x',
      plugins: { 'traffic-split': { rules: [{ weighted_upstreams: [{ upstream: { name: 'gray' }, weight: 1 }, { weight: 2 }] }] } },
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.rules.lanes[0]!.match[0]!.condition).toEqual({ all: [{ type: 'path', name: '', operator: '==', value: '/x' }, { operator: 'random', percentage: 33 }] });
    expect(result.warnings.map((w) => w.path)).toEqual(['plugins["traffic-split"].rules[0].weighted_upstreams[0].weight']);
  });
});

describe('Istio VirtualService', () => {
  test('the fixture: subsets as lanes, matches, weights and warnings', () => {
    const { rules, warnings } = parseRules(fixture('istio-virtualservice.yaml'));
    expect(rules.lanes.map((lane) => lane.tag)).toEqual(['gray', 'canary', 'base']);
    expect(rules.lanes[0]!.match).toEqual([
      {
        priority: 0,
        entries: undefined,
        condition: {
          any: [
            {
              all: [
                { type: 'header', name: 'end-user', operator: '==', value: 'jason' },
                { type: 'header', name: 'x-canary', operator: 'exists' },
                { any: [{ type: 'header', name: 'x-debug', operator: 'not exists' }, { type: 'header', name: 'x-debug', operator: '!=', value: '1' }] },
                { type: 'query', name: 'uid', operator: 'regex', value: '^(?:[0-9]+)$' },
                { type: 'path', name: '', operator: 'regex', value: '(?i)^/Reviews/' },
                { type: 'method', name: '', operator: '==', value: 'GET' },
                { type: 'host', name: '', operator: 'prefix', value: 'reviews' },
              ],
            },
            { type: 'header', name: 'x-lane', operator: '==', value: 'gray' },
          ],
        },
      },
    ]);
    expect(rules.lanes[1]!.match).toEqual([{ priority: 1, entries: undefined, condition: { all: [{ operator: 'random', percentage: 33 }] } }]);
    expect(rules.lanes[2]!.match).toEqual([{ priority: 2, entries: undefined, condition: { all: [] } }]);
    const warned = warnings.map((w) => w.path.replace('documents[0].spec.', ''));
    expect(warned).toEqual(
      expect.arrayContaining([
        'gateways', 'exportTo', 'tcp',
        'http[0].name', 'http[0].timeout', 'http[0].retries', 'http[0].rewrite', 'http[0].fault', 'http[0].mirror',
        'http[0].mirrorPercentage', 'http[0].corsPolicy', 'http[0].headers',
        'http[0].match[0].name', 'http[0].match[0].statPrefix',
        'http[0].route[0].destination.port', 'http[0].route[0].headers',
        'http[1].route[0].weight',
      ]),
    );
  });

  test('refused: match fields graylane cannot read, redirects, other hosts, lookaround', () => {
    const vs = (http: unknown[]) => ({ apiVersion: 'networking.istio.io/v1beta1', kind: 'VirtualService', spec: { hosts: ['b'], http } });
    expect(
      problems(
        vs([
          { match: [{ sourceLabels: { app: 'a' }, port: 80 }], route: [{ destination: { host: 'b', subset: 'gray' } }] },
          { redirect: { uri: '/x' } },
          { route: [{ destination: { host: 'c', subset: 'gray' } }] },
          { match: [{ headers: { x: { regex: '(?=a)' } }, withoutHeaders: { y: { prefix: 'a' } } }], route: [{ destination: { host: 'b', subset: 'gray' } }] },
        ]),
      ),
    ).toEqual({
      'error spec.http[0].match[0].sourceLabels': expect.stringContaining('at the entry'),
      'error spec.http[0].match[0].port': expect.stringContaining('port'),
      'error spec.http[1].redirect': expect.stringContaining('redirect'),
      'error spec.http[2].route[0].destination.host': expect.stringContaining('subsets) of one service'),
      'error spec.http[3].match[0].headers.x.regex': expect.stringContaining('lookaround'),
      'error spec.http[3].match[0].withoutHeaders.y': expect.stringContaining('negate only an exact value'),
    });
  });
});
