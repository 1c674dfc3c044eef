import { ErrorCode, isGraylaneError } from '@graylane/core';
import { requestView } from '@graylane/matcher';
import { createMemoryRegistry } from '@graylane/registry';
import { createFakeClock } from '@graylane/testing';
import { createRulesManager, startGraylane } from '../src/index.js';
import type { RulesManager } from '../src/index.js';
import { captureDiag, laneRules, nextApplied, recordMetrics, testSource } from './support/rules.js';

const INVALID = 'lanes:\n  - tag: gray\n    match:\n      - { type: header, name: x-user, operator: "~=", value: alice }\n';

const laneOf = (manager: RulesManager, user: string) => manager.matcher()?.match(requestView({ headers: { 'x-user': user } }));

let logs: ReturnType<typeof captureDiag>;
let telemetry: ReturnType<typeof recordMetrics>;
const managers: RulesManager[] = [];
function manage(manager: RulesManager): RulesManager {
  managers.push(manager);
  return manager;
}

beforeEach(() => {
  logs = captureDiag();
  telemetry = recordMetrics();
});
afterEach(async () => {
  await Promise.all(managers.splice(0).map((manager) => manager.close()));
  logs.stop();
  telemetry.stop();
});

const outcomes = () => telemetry.added.filter((point) => point.name === 'graylane.rules.updates').map((point) => point.attributes['outcome']);

describe('createRulesManager', () => {
  test('loads the first rules before ready() resolves and reports them', async () => {
    const rules = manage(createRulesManager(testSource(laneRules('gray', 'alice'))));
    expect(rules.status().state).toBe('loading');
    await rules.ready();
    expect(laneOf(rules, 'alice')).toBe('gray');
    expect(laneOf(rules, 'bob')).toBeUndefined();
    expect(rules.current()?.policy.fallback).toEqual({ gray: ['rc', 'base'] });
    const status = rules.status();
    expect(status).toEqual({
      state: 'ok',
      source: { kind: 'memory', location: 'test' },
      revision: 1,
      loadedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      md5: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(JSON.parse(JSON.stringify(status))).toEqual(status);
    expect(outcomes()).toEqual(['applied']);
    expect(telemetry.observe('graylane.rules.revision')).toEqual([{ value: 1, attributes: { source: 'memory' } }]);
  });

  test('an invalid update is rejected: the last good rules stay, the status is degraded, and the error is logged and counted', async () => {
    const source = testSource(laneRules('gray', 'alice'));
    const rules = manage(createRulesManager(source));
    await rules.ready();
    const changes: number[] = [];
    rules.onChange(({ revision }) => changes.push(revision));

    source.publish(INVALID);

    expect(laneOf(rules, 'alice')).toBe('gray');
    expect(changes).toEqual([]);
    const status = rules.status();
    expect(status).toMatchObject({ state: 'degraded', revision: 1 });
    expect(status.lastError).toMatchObject({
      code: ErrorCode.RULE_INVALID,
      issues: [expect.objectContaining({ path: 'documents[0].lanes[0].match[0].operator', severity: 'error' })],
      at: expect.any(String),
    });
    const [error] = logs.lines.filter((line) => line.level === 'error');
    expect(error?.message).toContain('rejected the rules from memory test; revision 1 stays in force');
    expect(error?.message).toContain('documents[0].lanes[0].match[0].operator: must be one of');
    expect(outcomes()).toEqual(['applied', 'rejected']);
    expect(telemetry.observe('graylane.rules.revision')).toEqual([{ value: 1, attributes: { source: 'memory' } }]);
  });

  test('a valid update after a rejection is applied: the status is ok again and the revision moves on', async () => {
    const source = testSource(laneRules('gray', 'alice'));
    const rules = manage(createRulesManager(source));
    await rules.ready();
    source.publish(INVALID);
    const applied = nextApplied(rules);

    source.publish(laneRules('blue', 'bob'));

    expect((await applied).revision).toBe(2);
    expect(laneOf(rules, 'alice')).toBeUndefined();
    expect(laneOf(rules, 'bob')).toBe('blue');
    expect(rules.status()).toMatchObject({ state: 'ok', revision: 2, lastError: { code: ErrorCode.RULE_INVALID } });
    expect(outcomes()).toEqual(['applied', 'rejected', 'applied']);
    expect(telemetry.observe('graylane.rules.revision')).toEqual([{ value: 2, attributes: { source: 'memory' } }]);
  });

  test('going back to the content in force after a rejection restores ok without a new revision', async () => {
    const source = testSource(laneRules('gray', 'alice'));
    const rules = manage(createRulesManager(source));
    await rules.ready();
    const changes: number[] = [];
    rules.onChange(({ revision }) => changes.push(revision));
    source.publish(INVALID);
    source.publish(laneRules('gray', 'alice'));
    expect(rules.status()).toMatchObject({ state: 'ok', revision: 1 });
    expect(changes).toEqual([]);
  });

  test('repeated content is handled once', async () => {
    const source = testSource(laneRules('gray', 'alice'));
    const rules = manage(createRulesManager(source));
    await rules.ready();
    source.publish(laneRules('gray', 'alice'));
    source.publish(INVALID);
    source.publish(INVALID);
    expect(outcomes()).toEqual(['applied', 'rejected']);
  });

  test('deleted rules leave the last good rules in force with the status missing', async () => {
    const source = testSource(laneRules('gray', 'alice'));
    const rules = manage(createRulesManager(source));
    await rules.ready();

    source.publish(undefined);

    expect(laneOf(rules, 'alice')).toBe('gray');
    expect(rules.status()).toMatchObject({ state: 'missing', revision: 1 });
    expect(logs.lines).toContainEqual({ level: 'warn', message: expect.stringContaining('the rules at memory test are gone; revision 1 stays in force') });
    expect(outcomes()).toEqual(['applied', 'missing']);
  });

  test('an empty rule set is valid and turns every lane off', async () => {
    const source = testSource(laneRules('gray', 'alice'));
    const rules = manage(createRulesManager(source));
    await rules.ready();
    source.publish('');
    expect(laneOf(rules, 'alice')).toBeUndefined();
    expect(rules.status()).toMatchObject({ state: 'ok', revision: 2 });
  });

  test('a throwing listener is logged and does not stop the others', async () => {
    const source = testSource(laneRules('gray', 'alice'));
    const rules = manage(createRulesManager(source));
    await rules.ready();
    rules.onChange(() => {
      throw new Error('boom');
    });
    const applied = nextApplied(rules);
    source.publish(laneRules('gray', 'bob'));
    await expect(applied).resolves.toMatchObject({ revision: 2 });
    expect(logs.lines).toContainEqual({ level: 'error', message: expect.stringContaining('a listener of the rules from memory test threw') });
  });

  test('entry scopes rules like compileMatcher does', async () => {
    const scoped = `lanes:\n  - tag: gray\n    match:\n      - { type: header, name: x-user, operator: "==", value: alice, entries: [shop] }\n`;
    const here = manage(createRulesManager(testSource(scoped), { entry: 'shop' }));
    const elsewhere = manage(createRulesManager(testSource(scoped), { entry: 'admin' }));
    await Promise.all([here.ready(), elsewhere.ready()]);
    expect(laneOf(here, 'alice')).toBe('gray');
    expect(laneOf(elsewhere, 'alice')).toBeUndefined();
  });

  test('close() stops following the source and closes it; ready() of a manager closed first rejects', async () => {
    const source = testSource(undefined);
    source.failLoads = Infinity;
    const rules = createRulesManager(source);
    await rules.close();
    await rules.close();
    expect(source.closed).toBe(true);
    await expect(rules.ready()).rejects.toMatchObject({ code: ErrorCode.CLOSED });
    source.publish(laneRules('gray', 'alice'));
    expect(rules.current()).toBeUndefined();
  });

  test('invalid options fail at creation', () => {
    expect(() => createRulesManager(testSource(), { loadTimeoutMs: 0 })).toThrow(expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }));
    expect(() => createRulesManager(testSource(), { onMissing: 'ignore' as 'fail' })).toThrow(/onMissing/);
  });
});

describe('ready() at start', () => {
  test('invalid first rules reject with GRAYLANE_ERR_RULE_INVALID listing every issue', async () => {
    const rules = manage(createRulesManager(testSource(INVALID), { onMissing: 'base' }));
    const error: unknown = await rules.ready().catch((caught: unknown) => caught);
    expect(isGraylaneError(error) && error.code).toBe(ErrorCode.RULE_INVALID);
    expect(rules.status()).toMatchObject({ state: 'degraded', revision: 0, lastError: { code: ErrorCode.RULE_INVALID } });
  });

  test("no rules at the source: 'fail' rejects at once with GRAYLANE_ERR_NOT_READY", async () => {
    const rules = manage(createRulesManager(testSource(undefined), { loadTimeoutMs: 60_000 }));
    await expect(rules.ready()).rejects.toMatchObject({ code: ErrorCode.NOT_READY, message: 'there are no rules at memory test' });
    expect(rules.status().state).toBe('missing');
  });

  test("no rules at the source: 'base' resolves without rules, and rules published later apply", async () => {
    const source = testSource(undefined);
    const rules = manage(createRulesManager(source, { onMissing: 'base' }));
    await rules.ready();
    expect(rules.matcher()).toBeUndefined();
    expect(rules.status()).toMatchObject({ state: 'missing', revision: 0 });
    const applied = nextApplied(rules);
    source.publish(laneRules('gray', 'alice'));
    await applied;
    expect(laneOf(rules, 'alice')).toBe('gray');
  });

  test("an unreachable source: 'fail' rejects after loadTimeoutMs with GRAYLANE_ERR_NOT_READY and the last read error", async () => {
    const source = testSource(laneRules('gray', 'alice'));
    source.failLoads = Infinity;
    const clock = createFakeClock();
    const rules = manage(createRulesManager(source, { loadTimeoutMs: 300, clock }));
    let settled: unknown = 'pending';
    rules.ready().then(
      () => (settled = 'resolved'),
      (caught: unknown) => (settled = caught),
    );
    await clock.advance(299);
    expect(settled).toBe('pending');
    await clock.advance(1);
    const error = settled;
    expect(error).toMatchObject({
      code: ErrorCode.NOT_READY,
      message: 'no rules from memory test within 300 ms (last error: connection refused)',
      details: { source: { kind: 'memory', location: 'test' }, timeoutMs: 300 },
    });
    expect(rules.status()).toMatchObject({ state: 'loading', lastError: { code: 'ECONNREFUSED', issues: [] } });
  });

  test("an unreachable source: 'base' resolves after loadTimeoutMs, and the rules apply once the source delivers them", async () => {
    const source = testSource(laneRules('gray', 'alice'));
    source.failLoads = Infinity;
    const clock = createFakeClock();
    const rules = manage(createRulesManager(source, { loadTimeoutMs: 300, onMissing: 'base', clock }));
    let resolved = false;
    void rules.ready().then(() => (resolved = true));
    await clock.advance(299);
    expect(resolved).toBe(false);
    await clock.advance(1);
    expect(resolved).toBe(true);
    expect(rules.status().state).toBe('loading');
    expect(logs.lines).toContainEqual({ level: 'warn', message: expect.stringContaining('requests without a lane go to base until rules arrive') });
    source.publish(laneRules('gray', 'alice'));
    expect(rules.status()).toMatchObject({ state: 'ok', revision: 1 });
  });

  test('read failures are retried until the source answers', async () => {
    const source = testSource(laneRules('gray', 'alice'));
    source.failLoads = 2;
    const clock = createFakeClock();
    const rules = manage(createRulesManager(source, { clock }));
    let resolved = false;
    void rules.ready().then(() => (resolved = true));
    // Two failed reads: the first retry waits 100-200 ms, the second 200-400 ms (jittered backoff).
    await clock.advance(600);
    expect(resolved).toBe(true);
    const [timeout, first, second] = clock.scheduled;
    expect(timeout).toBe(5000);
    expect(first).toBeGreaterThanOrEqual(100);
    expect(first).toBeLessThanOrEqual(200);
    expect(second).toBeGreaterThanOrEqual(200);
    expect(second).toBeLessThanOrEqual(400);
    expect(rules.status()).toMatchObject({ state: 'ok', lastError: { code: 'ECONNREFUSED' } });
    expect(logs.lines.filter((line) => line.message.includes('reading the rules from memory test failed'))).toHaveLength(2);
  });
});

describe('startGraylane({ rules })', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  test('waits for the rules, keeps the router on their fallback chains, and closes the source on shutdown', async () => {
    const registry = createMemoryRegistry();
    await registry.register({ service: 'b', host: '127.0.0.1', port: 1, lane: undefined });
    await registry.register({ service: 'b', host: '127.0.0.1', port: 2, lane: 'rc' });
    const source = testSource(laneRules('gray', 'alice'));
    const graylane = await startGraylane({ service: 'gateway', registry, dependencies: ['b'], rules: source, drainMs: 0 });

    expect(laneOf(graylane.rules, 'alice')).toBe('gray');
    expect(graylane.router.select('b', 'gray')).toMatchObject({ servedLane: 'rc' });

    const applied = nextApplied(graylane.rules);
    source.publish('lanes:\n  - tag: gray\n');
    await applied;
    expect(graylane.router.select('b', 'gray')).toMatchObject({ servedLane: undefined });

    await graylane.shutdown();
    expect(source.closed).toBe(true);
  });

  test('fails, releasing what it opened, when the first rules do not load', async () => {
    const registry = createMemoryRegistry();
    const source = testSource(undefined);
    await expect(startGraylane({ service: 'gateway', registry, rules: source })).rejects.toMatchObject({ code: ErrorCode.NOT_READY });
    expect(source.closed).toBe(true);
  });

  test('takes loading options with the source', async () => {
    const graylane = await startGraylane({ service: 'gateway', registry: createMemoryRegistry(), rules: { source: testSource(undefined), onMissing: 'base' } });
    expect(graylane.rules.status().state).toBe('missing');
    await graylane.shutdown();
  });

  test("rules: 'env' needs GRAYLANE_RULES_FILE or GRAYLANE_RULES_DATA_ID", async () => {
    delete process.env['GRAYLANE_RULES_FILE'];
    delete process.env['GRAYLANE_RULES_DATA_ID'];
    await expect(startGraylane({ service: 'gateway', registry: createMemoryRegistry(), rules: 'env' })).rejects.toMatchObject({
      code: ErrorCode.CONFIG_INVALID,
      details: { variables: ['GRAYLANE_RULES_FILE', 'GRAYLANE_RULES_DATA_ID'] },
    });
  });

  test('rules and routing.fallback together are a configuration error', async () => {
    await expect(
      startGraylane({ service: 'gateway', registry: createMemoryRegistry(), rules: testSource(''), routing: { fallback: { gray: ['rc'] } } }),
    ).rejects.toMatchObject({ code: ErrorCode.CONFIG_INVALID, details: { path: 'routing' } });
  });

  test('without rules, graylane.rules is undefined', async () => {
    const graylane = await startGraylane({ service: 'gateway', registry: createMemoryRegistry() });
    expect(graylane.rules).toBeUndefined();
    await graylane.shutdown();
  });
});
