// `graylane lane` on the Nacos lane store (GRAYLANE_LANES_DATA_ID), and `graylane route` on the
// Nacos registry, against each real Nacos test server (r-nacos and the Java server, built once by
// scripts/nacos if missing; a server that cannot be had fails the suite, nothing is skipped). A real
// service process follows the store; each change must reach it.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { InstanceRegistration, Registry } from '@graylane/core';
import { createNacosConfig, createNacosRegistry } from '@graylane/nacos';
import type { NacosConfig } from '@graylane/nacos';
import { LABELS, NACOS_SERVERS, startNacos } from '../../../scripts/nacos/servers.cjs';
import type { NacosTestNode } from '../../../scripts/nacos/servers.cjs';
import { fixture, graylane } from './graylane.js';

/** Long enough for a one-time cargo or Maven build when a server is not cached yet. */
const START_TIMEOUT_MS = 30 * 60_000;
/** How long a change may take to reach the follower before the test fails (the benchmark measures the p95). */
const APPLY_TIMEOUT_MS = 10_000;
const DATA_ID = 'graylane-lanes.json';

interface FollowerState {
  lanes: { tag: string; enabled: boolean; promoted: boolean; changedBy: string }[];
  inactive: string[];
  colored: string;
  routed: string;
}

describe.each(NACOS_SERVERS.map((kind) => [LABELS[kind], kind] as const))('graylane lane on the Nacos lane store of %s', (_label, kind) => {
  let node: NacosTestNode;
  let dir: string;
  let env: Record<string, string>;
  let config: NacosConfig;
  let registry: Registry;
  let follower: ChildProcess | undefined;
  let followerUrl: string;
  const bBase: InstanceRegistration = { service: 'b', host: '10.2.0.1', port: 8080 };
  const bGray: InstanceRegistration = { service: 'b', host: '10.2.0.2', port: 8080, lane: 'gray' };
  const applied: Record<string, number> = {};

  beforeAll(async () => {
    node = await startNacos(kind, { log: (line) => process.stderr.write(`[${kind}] ${line}\n`) });
    dir = mkdtempSync(join(tmpdir(), `graylane-cli-lanes-${kind}-`));
    env = { NACOS_SERVER_ADDR: node.serverAddr, GRAYLANE_LANES_DATA_ID: DATA_ID, GRAYLANE_NACOS_CACHE_DIR: join(dir, 'nacos-cache') };
    config = createNacosConfig({ serverAddr: node.serverAddr });
    registry = createNacosRegistry({ serverAddr: node.serverAddr });
    await Promise.all([registry.register(bBase), registry.register(bGray)]);
  }, START_TIMEOUT_MS);

  afterAll(async () => {
    if (follower && follower.exitCode === null && follower.signalCode === null) {
      await new Promise((resolve) => (follower!.once('exit', resolve), follower!.kill('SIGTERM')));
    }
    await registry?.close();
    await config?.close();
    await node?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    process.stderr.write(`graylane lane on ${kind}: a change reached the follower in ${JSON.stringify(applied)} ms\n`);
  });

  /** The follower's state once `check` holds, polled every 20 ms; records how long it took as `applied[step]`. */
  async function once(step: string, check: (state: FollowerState) => boolean, query = '?group=gray'): Promise<FollowerState> {
    const started = performance.now();
    let state: FollowerState | undefined;
    while (performance.now() - started < APPLY_TIMEOUT_MS) {
      state = (await (await fetch(`${followerUrl}/state${query}`)).json()) as FollowerState;
      if (check(state)) {
        applied[step] = Math.round(performance.now() - started);
        return state;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`${step}: the follower did not apply the change within ${APPLY_TIMEOUT_MS} ms; last state ${JSON.stringify(state)}`);
  }

  it('create publishes the lane to the Nacos config; a service following it colors and routes into the lane', async () => {
    const created = await graylane(['lane', 'create', 'gray', '--rule', 'query:group=gray', '--services', 'b', '--by', 'pipeline', '--json'], { env });
    expect(created).toMatchObject({ code: 0, stderr: '' });
    const stored = JSON.parse((await config.get(DATA_ID))!);
    expect(stored.lanes).toEqual([expect.objectContaining({ tag: 'gray', enabled: true, services: ['b'], changedBy: 'pipeline' })]);

    // The follower's own rules know no lane gray: coloring into it comes from the lane object alone.
    const rulesFile = join(dir, 'rules.json');
    writeFileSync(rulesFile, JSON.stringify({ lanes: [{ tag: 'other', match: [{ type: 'query', name: 'other', operator: '==', value: '1' }] }] }));
    follower = spawn(process.execPath, [fixture('follower.mjs')], {
      env: { PATH: process.env['PATH'] ?? '', ...env, GRAYLANE_RULES_FILE: rulesFile },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const port = await new Promise<number>((resolve, reject) => {
      follower!.once('exit', (code) => reject(new Error(`the follower exited with ${code} before it registered`)));
      createInterface({ input: follower!.stdout! }).once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
    });
    followerUrl = `http://127.0.0.1:${port}`;
    const state = await once('create', (s) => s.colored === 'gray');
    expect(state).toMatchObject({ lanes: [{ tag: 'gray', enabled: true }], inactive: [], routed: 'gray' });
  }, 60_000);

  it('route reads the Nacos registry: a gray call to b goes to its gray instance, and names its base pool', async () => {
    const result = await graylane(['route', '--service', 'b', '--lane', 'gray', '--json'], { env });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const out = JSON.parse(result.stdout);
    expect(out).toMatchObject({ registry: `nacos ${node.serverAddr}`, lanesFrom: `nacos ${node.serverAddr} DEFAULT_GROUP/${DATA_ID}` });
    expect(out.hops[0]).toMatchObject({ servedLane: 'gray', inactive: false, instance: { id: '10.2.0.2:8080', lane: 'gray' }, instances: { base: 1, gray: 1 } });
    const blue = JSON.parse((await graylane(['route', '--service', 'b', '--lane', 'blue', '--json'], { env })).stdout);
    expect(blue.hops[0]).toMatchObject({ servedLane: 'base', instance: { id: '10.2.0.1:8080' }, fallback: [{ lane: 'blue', reason: 'no-instance' }] });
  });

  it('disable switches the lane off at the follower (base for coloring and routing); enable back on', async () => {
    expect((await graylane(['lane', 'disable', 'gray', '--by', 'oncall'], { env })).code).toBe(0);
    expect(JSON.parse((await config.get(DATA_ID))!).lanes[0]).toMatchObject({ enabled: false, changedBy: 'oncall' });
    const off = await once('disable', (s) => s.inactive.includes('gray'));
    expect(off).toMatchObject({ colored: 'base', routed: 'base', lanes: [{ tag: 'gray', enabled: false, changedBy: 'oncall' }] });
    const routed = JSON.parse((await graylane(['route', '--service', 'b', '--lane', 'gray', '--json'], { env })).stdout);
    expect(routed.hops[0]).toMatchObject({ inactive: true, servedLane: 'base' });

    expect((await graylane(['lane', 'enable', 'gray'], { env })).code).toBe(0);
    const on = await once('enable', (s) => s.inactive.length === 0);
    expect(on).toMatchObject({ colored: 'gray', routed: 'gray' });
  }, 30_000);

  it('promote is recorded in the store and reaches the follower; routing does not change', async () => {
    expect((await graylane(['lane', 'promote', 'gray'], { env })).code).toBe(0);
    expect(typeof JSON.parse((await config.get(DATA_ID))!).lanes[0].promotedAt).toBe('string');
    const state = await once('promote', (s) => s.lanes[0]?.promoted === true);
    expect(state).toMatchObject({ colored: 'gray', routed: 'gray', inactive: [] });
  }, 30_000);

  it('back-to-back commands each see the change before (regression: the Java server served a publish from a stale cache)', async () => {
    for (const [word, by] of [['disable', 'one'], ['enable', 'two'], ['disable', 'three'], ['enable', 'four'], ['promote', 'five']] as const) {
      expect((await graylane(['lane', word, 'gray', '--by', by], { env })).code).toBe(0);
    }
    const stored = JSON.parse((await config.get(DATA_ID))!).lanes[0];
    expect(stored).toMatchObject({ enabled: true, changedBy: 'five' });
    expect(typeof stored.promotedAt).toBe('string');
    await once('back-to-back', (s) => s.lanes[0]?.changedBy === 'five');
  }, 60_000);

  it('cleanup waits for the lane instance to drain, removes the lane; the follower no longer knows it', async () => {
    const stuck = await graylane(['lane', 'cleanup', 'gray', '--timeout', '1s', '--json'], { env });
    expect(stuck.code).toBe(1); // b's gray instance is still registered: removed, but reported
    expect(JSON.parse(stuck.stdout)).toMatchObject({ removed: true, drained: false, remaining: [expect.objectContaining({ service: 'b', id: '10.2.0.2:8080' })] });
    await once('cleanup', (s) => s.lanes.length === 0);

    expect((await graylane(['lane', 'create', 'gray', '--rule', 'query:group=gray', '--services', 'b'], { env })).code).toBe(0);
    await once('re-create', (s) => s.colored === 'gray');
    setTimeout(() => void registry.deregister(bGray), 500);
    const drained = await graylane(['lane', 'cleanup', 'gray', '--timeout', '20s', '--json'], { env });
    expect(drained.code).toBe(0);
    expect(JSON.parse(drained.stdout)).toMatchObject({ removed: true, drained: true, remaining: [] });
    expect(JSON.parse((await config.get(DATA_ID))!).lanes).toEqual([]);
    // No lane object, and no gray instance of b left to route to (the deregistration is pushed apart from the config).
    await once('drained cleanup', (s) => s.lanes.length === 0 && s.colored === 'base' && s.routed === 'base');
  }, 60_000);
});
