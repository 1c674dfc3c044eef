// Rules from a Nacos config, against a real r-nacos (scripts/nacos/rnacos.cjs builds it once if it
// is missing). A server that cannot be built or started fails the suite with the reason.
import { performance } from 'node:perf_hooks';
import { ErrorCode } from '@graylane/core';
import { requestView } from '@graylane/matcher';
import { createNacosConfig } from '@graylane/nacos';
import type { NacosConfig, NacosLogger } from '@graylane/nacos';
import { createMemoryRegistry } from '@graylane/registry';
import { startRnacos } from '../../../scripts/nacos/rnacos.cjs';
import type { RnacosNode } from '../../../scripts/nacos/rnacos.cjs';
import { createRulesManager, nacosRuleSource, startGraylane } from '../src/index.js';
import type { RulesManager } from '../src/index.js';
import { captureDiag, eventually, laneRules, nextApplied } from './support/rules.js';

/** Long enough for the one-time cargo build when the binary is not cached yet. */
const START_TIMEOUT_MS = 30 * 60_000;
/** The issue's target for publish → applied. */
const TARGET_P95_MS = 1000;

const warnings: string[] = [];
const logger: NacosLogger = { warn: (message) => warnings.push(message) };
let node: RnacosNode | undefined;
let publisher: NacosConfig;
let logs: ReturnType<typeof captureDiag>;
const managers: RulesManager[] = [];
let serial = 0;
const uniqueDataId = (label: string) => `rules-${label}-${process.pid}-${++serial}.yaml`;

beforeAll(async () => {
  node = await startRnacos({ log: (line) => process.stderr.write(`[rnacos] ${line}\n`) });
  publisher = createNacosConfig({ serverAddr: node.serverAddr, logger });
}, START_TIMEOUT_MS);
afterAll(async () => {
  await publisher?.close();
  await node?.stop();
});
beforeEach(() => {
  logs = captureDiag();
});
afterEach(async () => {
  await Promise.all(managers.splice(0).map((manager) => manager.close()));
  logs.stop();
});

function serverAddr(): string {
  if (!node) throw new Error('r-nacos is not running');
  return node.serverAddr;
}

async function follow(dataId: string, group?: string): Promise<RulesManager> {
  const manager = createRulesManager(nacosRuleSource({ serverAddr: serverAddr(), dataId, group, logger }));
  managers.push(manager);
  await manager.ready();
  return manager;
}

const laneOf = (manager: RulesManager, user: string) => manager.matcher()?.match(requestView({ headers: { 'x-user': user } }));

describe('rules from a Nacos config (r-nacos)', () => {
  test('published rules apply; an invalid publish is rejected and the last good rules stay; a valid one applies; a deletion keeps them', async () => {
    const dataId = uniqueDataId('cycle');
    await publisher.publish(dataId, laneRules('gray', 'alice'), 'LANES', { type: 'yaml' });
    const rules = await follow(dataId, 'LANES');
    expect(laneOf(rules, 'alice')).toBe('gray');
    expect(rules.status()).toMatchObject({ state: 'ok', revision: 1, source: { kind: 'nacos', location: `LANES/${dataId}` } });

    await publisher.publish(dataId, 'lanes:\n  - tag: gray\n    percentage: 140\n', 'LANES');
    await eventually(() => rules.status().state === 'degraded', 'the rejection', 5000);
    expect(laneOf(rules, 'alice')).toBe('gray');
    expect(rules.status()).toMatchObject({ revision: 1, lastError: { code: ErrorCode.RULE_INVALID, issues: [expect.objectContaining({ path: 'documents[0].lanes[0].percentage' })] } });
    expect(logs.lines.some((line) => line.level === 'error' && line.message.includes('documents[0].lanes[0].percentage'))).toBe(true);

    const applied = nextApplied(rules, 5000);
    await publisher.publish(dataId, laneRules('gray', 'bob'), 'LANES');
    expect(await applied).toMatchObject({ revision: 2 });
    expect(laneOf(rules, 'bob')).toBe('gray');
    expect(rules.status().state).toBe('ok');

    await publisher.remove(dataId, 'LANES');
    await eventually(() => rules.status().state === 'missing', 'the deletion', 5000);
    expect(laneOf(rules, 'bob')).toBe('gray');
  });

  test('startGraylane resolves only once the rules from Nacos are applied', async () => {
    const dataId = uniqueDataId('start');
    await publisher.publish(dataId, laneRules('gray', 'alice'));
    const graylane = await startGraylane({
      service: 'gateway',
      registry: createMemoryRegistry(),
      rules: nacosRuleSource({ serverAddr: serverAddr(), dataId, logger }),
    });
    expect(laneOf(graylane.rules, 'alice')).toBe('gray');
    await graylane.shutdown();
  });

  test('an unreachable Nacos fails ready() after loadTimeoutMs with GRAYLANE_ERR_NOT_READY', async () => {
    const rules = createRulesManager(nacosRuleSource({ serverAddr: '127.0.0.1:1', dataId: 'rules.yaml', timeoutMs: 200, logger }), { loadTimeoutMs: 800 });
    managers.push(rules);
    await expect(rules.ready()).rejects.toMatchObject({ code: ErrorCode.NOT_READY, message: expect.stringContaining('no rules from nacos DEFAULT_GROUP/rules.yaml within 800 ms (last error:') });
    expect(rules.status()).toMatchObject({ state: 'loading', lastError: { code: expect.stringMatching(/^GRAYLANE_ERR_NACOS/) } });
  });

  test(`publish → applied latency over 20 changes: p95 within ${TARGET_P95_MS} ms`, async () => {
    const dataId = uniqueDataId('latency');
    await publisher.publish(dataId, laneRules('gray', 'user-0'));
    const rules = await follow(dataId);
    const latencies: number[] = [];
    for (let i = 1; i <= 20; i++) {
      const applied = nextApplied(rules, 5000);
      const started = performance.now();
      await publisher.publish(dataId, laneRules('gray', `user-${i}`));
      await applied;
      latencies.push(performance.now() - started);
      expect(laneOf(rules, `user-${i}`)).toBe('gray');
    }
    latencies.sort((a, b) => a - b);
    const at = (q: number) => latencies[Math.ceil(q * latencies.length) - 1]!;
    console.log(
      `rules publish → applied over ${latencies.length} changes (r-nacos, gRPC push): ` +
        `p50 ${at(0.5).toFixed(0)} ms, p95 ${at(0.95).toFixed(0)} ms, max ${at(1).toFixed(0)} ms`,
    );
    expect(at(0.95)).toBeLessThanOrEqual(TARGET_P95_MS);
  }, 60_000);
});
