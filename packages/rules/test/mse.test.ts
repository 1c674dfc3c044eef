import { parseRules, validateRules } from '../src/index.js';

describe('MSE lane JSON', () => {
  it('imports the MSE seed (group=gray on a query parameter)', () => {
    const { rules } = parseRules(
      JSON.stringify({
        Name: 'gray',
        Tag: 'gray',
        Enable: true,
        EntryRules: [{ priority: 1, paths: ['/A/a'], condition: 'AND', restItems: [{ type: 'param', name: 'group', operator: 'rawvalue', cond: '==', value: 'gray' }] }],
      }),
    );
    expect(rules.lanes[0]).toMatchObject({
      tag: 'gray',
      enabled: true,
      match: [
        {
          priority: 1,
          condition: {
            all: [
              { type: 'path', name: '', operator: 'in', values: ['/A/a'] },
              { type: 'query', name: 'group', operator: '==', value: 'gray' },
            ],
          },
        },
      ],
    });
  });

  it('maps every MSE operator and OR conditions; accepts camelCase and EntryRules as a JSON string', () => {
    const entryRules = [
      {
        priority: 2,
        condition: 'OR',
        restItems: [
          { type: 'header', name: 'X-Uid', operator: 'rawvalue', cond: '>=', value: 100 },
          { type: 'cookie', name: 'uid', operator: 'list', cond: '!=', nameList: ['1', 2] },
          { type: 'param', name: 'uid', operator: 'mod', cond: '<', divisor: 10, remainder: 3 },
          { type: 'header', name: 'x-uid', operator: 'deterministic_proportional_steaming_division', rate: 30 },
        ],
      },
      { priority: 3, path: '/only', enable: false },
    ];
    const { rules } = parseRules(JSON.stringify([{ tag: 'gray', entryRules: JSON.stringify(entryRules) }]));
    expect(rules.lanes[0]!.match).toEqual([
      {
        priority: 2,
        entries: undefined,
        condition: {
          any: [
            { type: 'header', name: 'x-uid', operator: '>=', value: '100' },
            { type: 'cookie', name: 'uid', operator: 'not in', values: ['1', '2'] },
            { type: 'query', name: 'uid', operator: 'modulo', divisor: 10, remainder: 3, compare: '<' },
            { type: 'header', name: 'x-uid', operator: 'sticky', percentage: 30 },
          ],
        },
      },
    ]);
  });

  it('reports problems at the keys as written', () => {
    const result = validateRules([
      {
        Tag: 'gray',
        EntryRules: [
          { priority: 1, condition: 'XOR', restItems: [{ type: 'header', name: 'x', operator: 'mod', cond: '==' }], colour: 1 },
        ],
      },
      { Tag: 'x', tag: 'y', EntryRules: [] },
    ]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const paths = result.issues.map((issue) => issue.path);
    expect(paths).toEqual(
      expect.arrayContaining(['documents[0].EntryRules[0].condition', 'documents[0].EntryRules[0].colour', 'documents[1].Tag']),
    );
    const mod = validateRules({ Tag: 'gray', EntryRules: [{ restItems: [{ type: 'header', name: 'x', operator: 'mod' }] }] });
    expect(mod).toMatchObject({ ok: false, issues: [{ path: 'EntryRules[0].restItems[0].divisor' }, { path: 'EntryRules[0].restItems[0].remainder' }] });
  });
});
