import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requestView } from '@graylane/matcher';
import { createMemoryRegistry } from '@graylane/registry';
import { laneRuleFromExpression, serializeLaneStore } from '@graylane/rules';
import type { LaneObject } from '@graylane/rules';
import { fileRuleSource, lanesFromEnv, startGraylane } from '../src/index.js';
import type { Graylane } from '../src/index.js';

const gray = (extra: Partial<LaneObject> = {}): LaneObject => ({
  tag: 'gray',
  rule: laneRuleFromExpression('gray', 'query:group=gray')!,
  services: ['b'],
  enabled: true,
  changedBy: 'test',
  changedAt: new Date().toISOString(),
  ...extra,
});
const store = (...lanes: LaneObject[]) => serializeLaneStore({ kind: 'graylane.io/v1alpha1/Lanes', lanes });

async function until(check: () => boolean, timeoutMs: number): Promise<number> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return performance.now() - start;
}

describe('lane objects applied by startGraylane', () => {
  let dir: string;
  let graylane: Graylane | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'graylane-lanes-'));
  });
  afterEach(async () => {
    await graylane?.shutdown();
    graylane = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  async function start(lanesText: string, rulesText = JSON.stringify({ lanes: [{ tag: 'gray', match: [{ type: 'query', name: 'env', operator: '==', value: 'gray' }] }] }), lane?: string) {
    const lanesFile = join(dir, 'lanes.json');
    const rulesFile = join(dir, 'rules.json');
    await writeFile(lanesFile, lanesText);
    await writeFile(rulesFile, rulesText);
    const registry = createMemoryRegistry();
    await registry.register({ service: 'b', lane: undefined, host: '127.0.0.1', port: 1001 });
    await registry.register({ service: 'b', lane: 'gray', host: '127.0.0.1', port: 1002 });
    graylane = await startGraylane({ service: 'a', lane, registry, dependencies: ['b'], rules: fileRuleSource(rulesFile), lanes: lanesFromEnv({ GRAYLANE_LANES_FILE: lanesFile }), logger: false, drainMs: 0 });
    return { lanesFile, graylane };
  }
  const grayQuery = requestView({ method: 'GET', path: '/a', query: { group: 'gray' } });
  const envQuery = requestView({ method: 'GET', path: '/a', query: { env: 'gray' } });

  it('an enabled lane routes to its instances and its entry rule colors requests; disabled, it is base everywhere within 1 s', async () => {
    const { lanesFile, graylane: g } = await start(store(gray()));
    expect(g.router.select('b', 'gray').instance.port).toBe(1002);
    expect(g.rules!.matcher()!.match(grayQuery)).toBe('gray'); // the lane object's rule
    expect(g.rules!.matcher()!.match(envQuery)).toBeUndefined(); // replaced the rules file's rule for gray

    await writeFile(lanesFile, store(gray({ enabled: false })));
    const ms = await until(() => g.router.select('b', 'gray').instance.port === 1001 && g.rules!.matcher()!.match(grayQuery) === undefined, 1000);
    expect(g.router.select('b', 'gray').servedLane).toBeUndefined();
    expect(ms).toBeLessThan(1000);

    await writeFile(lanesFile, store(gray()));
    await until(() => g.router.select('b', 'gray').instance.port === 1002 && g.rules!.matcher()!.match(grayQuery) === 'gray', 1000);
  });

  it('an expiring lane turns to base by itself when it expires', async () => {
    // 700 ms: a rules file written just before start-up is read twice, settleMs apart, before it is taken.
    const { graylane: g } = await start(store(gray({ expiresAt: new Date(Date.now() + 700).toISOString() })));
    expect(g.router.select('b', 'gray').instance.port).toBe(1002);
    const ms = await until(() => g.router.select('b', 'gray').instance.port === 1001, 2000);
    expect(g.rules!.matcher()!.match(grayQuery)).toBeUndefined();
    expect(ms).toBeGreaterThan(100);
  });

  it('an invalid store is rejected and the lane objects in force stay', async () => {
    const { lanesFile, graylane: g } = await start(store(gray({ enabled: false })));
    expect(g.router.select('b', 'gray').instance.port).toBe(1001);
    await writeFile(lanesFile, '{"kind":"nope"}');
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(g.router.select('b', 'gray').instance.port).toBe(1001);
    expect(g.lanes!.inactive().has('gray')).toBe(true);
  });

  it("a gray instance stops coloring while its lane object is disabled, and colors again once it is enabled", async () => {
    const { lanesFile, graylane: g } = await start(store(gray()), undefined, 'gray');
    expect(g.coloring()).toBe('gray');
    await writeFile(lanesFile, store(gray({ enabled: false })));
    await until(() => g.coloring() === undefined, 1000);
    await writeFile(lanesFile, store(gray()));
    await until(() => g.coloring() === 'gray', 1000);
  });
});
