import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRules } from '../src/index.js';

const fixture = (name: string) => readFileSync(join(__dirname, 'fixtures', name), 'utf8');

describe('MSE lanes as the OpenAPI takes and returns them', () => {
  test('a QuerySwimmingLaneById answer: Data is the lane; answer and response-only fields are warned about by name', () => {
    const { rules, warnings } = parseRules(fixture('mse-query-swimming-lane-answer.json'));
    expect(rules.lanes).toHaveLength(1);
    const lane = rules.lanes[0]!;
    expect(lane).toMatchObject({ tag: 'gray', enabled: true });
    expect(lane.match).toEqual([
      {
        priority: 1,
        entries: undefined,
        condition: {
          all: [
            { type: 'path', name: '', operator: 'in', values: ['/a'] },
            { type: 'query', name: 'group', operator: '==', value: 'gray' },
            { type: 'header', name: 'x-user-id', operator: 'in', values: ['1', '2'] },
            { type: 'cookie', name: 'uid', operator: 'modulo', divisor: 100, remainder: 10, compare: '<' },
            { type: 'header', name: 'x-user', operator: 'sticky', percentage: 20 },
          ],
        },
      },
    ]);
    expect(warnings.map((w) => w.path).sort()).toEqual(
      ['Code', 'ErrorCode', 'HttpStatusCode', 'Message', 'RequestId', 'Success', 'Data.entryRule', 'Data.gmtCreate', 'Data.gmtModified', 'Data.namespace', 'Data.regionId', 'Data.status', 'Data.userId'].sort(),
    );
  });

  test('a CreateOrUpdateSwimmingLane request: Datum is the value; request-only parameters are warned about', () => {
    const { rules, warnings } = parseRules(fixture('mse-create-swimming-lane-request.json'));
    expect(rules.lanes[0]!.match[0]!.condition).toEqual({
      all: [
        { type: 'path', name: '', operator: 'in', values: ['/'] },
        { any: [{ type: 'header', name: 'x-mse-tag', operator: '==', value: 'gray' }, { type: 'query', name: 'env', operator: '==', value: 'gray' }] },
      ],
    });
    expect(warnings.map((w) => w.path).sort()).toEqual(['AcceptLanguage', 'Namespace', 'PathIndependentPercentageEnable', 'RegionId']);
  });

  test('an answer with Data as a list imports every lane; a failed answer and gateway routes are refused with why', () => {
    const list = { RequestId: 'x', Success: true, Data: [{ Tag: 'a', EntryRules: [] }, { Tag: 'b', EntryRules: [] }] };
    expect(parseRules(JSON.stringify(list)).rules.lanes.map((lane) => lane.tag)).toEqual(['a', 'b']);
    expect(() => parseRules(JSON.stringify({ RequestId: 'x', Success: false, Data: null }))).toThrow(/reports a failure/);
    expect(() => parseRules(JSON.stringify({ Tag: 'a', EntryRules: [], GatewaySwimmingLaneRouteJson: '{}' }))).toThrow(
      /GatewaySwimmingLaneRouteJson: cannot be honoured: it is an MSE cloud-native gateway route/,
    );
  });
});
