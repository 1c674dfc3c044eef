import { requestView } from '@graylane/matcher';
import { createRulesManager } from '../src/index.js';
import type { RulesManager } from '../src/index.js';
import { captureDiag, laneRules, testSource } from './support/rules.js';

const laneOf = (manager: RulesManager, user: string) => manager.matcher()?.match(requestView({ headers: { 'x-user': user } }));

let logs: ReturnType<typeof captureDiag>;
const managers: RulesManager[] = [];
function manage(manager: RulesManager): RulesManager {
  managers.push(manager);
  return manager;
}
beforeEach(() => {
  logs = captureDiag();
});
afterEach(async () => {
  await Promise.all(managers.splice(0).map((manager) => manager.close()));
  logs.stop();
});

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('reload diagnostics', () => {
  test('a rejected update reports every problem of the text, each with its path, in the status and the log', async () => {
    const source = testSource(laneRules('gray', 'alice'));
    const rules = manage(createRulesManager(source));
    await rules.ready();
    source.publish(`lanes:
  - tag: gray
    strict: maybe
    match: [{ type: header, name: x, operator: equals, value: y }]
---
lanes:
  - tag: "bad tag"
  - tag: blue
    percentage: 101
`);
    await until(() => rules.status().state === 'degraded');
    const expected = ['documents[0].lanes[0].strict', 'documents[0].lanes[0].match[0].operator', 'documents[1].lanes[0].tag', 'documents[1].lanes[1].percentage'];
    expect(rules.status().lastError?.issues.map((issue) => issue.path)).toEqual(expected);
    const [error] = logs.lines.filter((line) => line.level === 'error');
    for (const path of expected) expect(error?.message).toContain(`\n  ${path}: `);
    expect(laneOf(rules, 'alice')).toBe('gray');
  });
});
