// `graylane route` and `rules explain --route` against a fleet of real processes, each an HTTP
// server registered through startGraylane in a file registry of its own folder.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fixture, graylane } from './graylane.js';

interface Hop {
  service: string;
  lane: string;
  inactive: boolean;
  instance: { id: string; lane: string } | null;
  servedLane: string | null;
  fallback: { lane: string; reason: string }[];
  pool: string[];
  error: { code: string; message: string } | null;
  instances: Record<string, number>;
}

const rules = fixture('native.yaml'); // gray falls back to rc, then base; canary is strict

describe('graylane route, on a fleet of real processes in the file registry', () => {
  let dir: string;
  let registryDir: string;
  let env: Record<string, string>;
  const processes = new Map<string, { child: ChildProcess; id: string }>();

  /** Starts `service` in `lane` and resolves once it is registered. */
  async function startInstance(name: string, service: string, lane?: string): Promise<void> {
    const child = spawn(process.execPath, [fixture('service.mjs')], {
      env: { PATH: process.env['PATH'] ?? '', SERVICE: service, GRAYLANE_REGISTRY_DIR: registryDir, ...(lane ? { GRAYLANE_LANE: lane } : {}) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const port = await new Promise<number>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`${name} exited with ${code} before it registered`)));
      createInterface({ input: child.stdout! }).once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
    });
    processes.set(name, { child, id: `127.0.0.1:${port}` });
  }

  const route = async (args: string[], extra: Record<string, string> = {}) => {
    const result = await graylane(['route', ...args, '--json'], { env: { ...env, ...extra } });
    expect(result.stderr).toBe('');
    return { code: result.code, ...(JSON.parse(result.stdout) as { lane: string; registry: string; hops: Hop[]; rulesFrom: string | null; lanesFrom: string | null }) };
  };
  const id = (name: string) => processes.get(name)!.id;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'graylane-cli-route-'));
    registryDir = join(dir, 'registry');
    env = { GRAYLANE_REGISTRY_DIR: registryDir };
    await Promise.all([
      startInstance('a', 'a'),
      startInstance('a-gray', 'a', 'gray'),
      startInstance('b', 'b'),
      startInstance('b-2', 'b'),
      startInstance('c', 'c'),
      startInstance('c-gray', 'c', 'gray'),
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(
      [...processes.values()].map(({ child }) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : (child.once('exit', () => resolve()), child.kill('SIGTERM'))))),
    );
    rmSync(dir, { recursive: true, force: true });
  });

  it('a gray request: gray where the service has a gray instance, base elsewhere, with each fallback step and why', async () => {
    const result = await route(['--service', 'a,b', '--service', 'c', '--lane', 'gray', '--rules', rules]);
    expect(result).toMatchObject({ code: 0, lane: 'gray', registry: `file ${registryDir}`, rulesFrom: `file ${rules}`, lanesFrom: null });
    const [a, b, c] = result.hops;
    expect(a).toMatchObject({ service: 'a', servedLane: 'gray', instance: { id: id('a-gray'), lane: 'gray' }, fallback: [], pool: [id('a-gray')], instances: { base: 1, gray: 1 } });
    // b has no gray and no rc instance: gray's chain (rc) is walked, then base; calls spread over b's two base instances.
    expect(b).toMatchObject({ service: 'b', servedLane: 'base', fallback: [{ lane: 'gray', reason: 'no-instance' }, { lane: 'rc', reason: 'no-instance' }], error: null });
    expect(b!.pool.sort()).toEqual([id('b'), id('b-2')].sort());
    expect(c).toMatchObject({ service: 'c', servedLane: 'gray', instance: { id: id('c-gray') } });

    const text = await graylane(['route', '--service', 'a,b,c', '--lane', 'gray', '--rules', rules], { env });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`a: lane gray -> ${id('a-gray')} [gray] (registered: base 1, gray 1)`);
    expect(text.stdout).toMatch(/b: lane gray -> 127\.0\.0\.1:\d+ \[base\], fallback \(registered: base 2\)\n {2}passed over gray: no instance in that lane\n {2}passed over rc: no instance in that lane\n {2}calls spread over 2 base instances/);
  });

  it('an unmarked request stays on base; a strict lane with no instance fails the hop (exit 1)', async () => {
    const base = await route(['--service', 'a,c']);
    expect(base.hops.map((hop) => [hop.service, hop.servedLane, hop.instance?.id])).toEqual([
      ['a', 'base', id('a')],
      ['c', 'base', id('c')],
    ]);
    const strict = await route(['--service', 'a', '--lane', 'canary', '--rules', rules]);
    expect(strict.code).toBe(1);
    expect(strict.hops[0]).toMatchObject({ instance: null, error: { code: 'GRAYLANE_ERR_STRICT_LANE' } });
    // Without the rules, nothing says canary is strict: it falls back to base as the services would without them.
    expect((await route(['--service', 'a', '--lane', 'canary'])).hops[0]).toMatchObject({ servedLane: 'base', fallback: [{ lane: 'canary', reason: 'no-instance' }] });
  });

  it('follows the fleet now: an unhealthy instance is passed over, a killed one is gone', async () => {
    // An operator marks a-gray unhealthy in its record; its process keeps running.
    const serviceDir = join(registryDir, 'a');
    const file = join(serviceDir, readdirSync(serviceDir).find((name) => name.endsWith(`_${id('a-gray').split(':')[1]}.json`))!);
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), healthy: false }));
    const unhealthy = await route(['--service', 'a', '--lane', 'gray']);
    expect(unhealthy.hops[0]).toMatchObject({ servedLane: 'base', instance: { id: id('a') }, fallback: [{ lane: 'gray', reason: 'all-unhealthy' }] });

    const killed = processes.get('c-gray')!.child;
    await new Promise((resolve) => (killed.once('exit', resolve), killed.kill('SIGKILL')));
    const gone = await route(['--service', 'c', '--lane', 'gray']);
    expect(gone.hops[0]).toMatchObject({ servedLane: 'base', instance: { id: id('c') }, fallback: [{ lane: 'gray', reason: 'no-instance' }], instances: { base: 1 } });
  });

  it('a lane the lane store has disabled routes as base at every hop; rules explain colors nothing into it', async () => {
    const lanesFile = join(dir, 'lanes.json');
    const lanes = { GRAYLANE_LANES_FILE: lanesFile };
    expect((await graylane(['lane', 'create', 'blue', '--rule', 'query:group=blue', '--services', 'b'], { env: { ...env, ...lanes } })).code).toBe(0);
    await startInstance('b-blue', 'b', 'blue');
    const on = await route(['--service', 'b', '--lane', 'blue'], lanes);
    expect(on).toMatchObject({ lanesFrom: `file ${lanesFile}`, hops: [{ servedLane: 'blue', inactive: false, instance: { id: id('b-blue') } }] });
    const explainOn = JSON.parse((await graylane(['rules', 'explain', rules, '--url', '/a?group=blue', '--route', 'a,b', '--json'], { env: { ...env, ...lanes } })).stdout);
    expect(explainOn).toMatchObject({ lane: 'blue', decidedBy: 'rule', laneStore: `file ${lanesFile}`, route: [{ service: 'a', servedLane: 'base' }, { service: 'b', servedLane: 'blue' }] });

    expect((await graylane(['lane', 'disable', 'blue'], { env: { ...env, ...lanes } })).code).toBe(0);
    const off = await route(['--service', 'b', '--lane', 'blue'], lanes);
    expect(off.hops[0]).toMatchObject({ lane: 'blue', inactive: true, servedLane: 'base', fallback: [] });
    const explainOff = await graylane(['rules', 'explain', rules, '--url', '/a?group=blue', '--route', 'a,b'], { env: { ...env, ...lanes } });
    expect(explainOff.code).toBe(0);
    expect(explainOff.stdout).toMatch(/^lane: base \(no rule matched\)\n/);
    expect(explainOff.stdout).toContain(`lane objects applied from file ${lanesFile}`);
    // A request still carrying blue (from a trusted client) routes as base too.
    const carried = JSON.parse((await graylane(['rules', 'explain', rules, '--url', '/a', '--header', 'x-mse-tag: blue', '--trust', 'all', '--route', 'b', '--json'], { env: { ...env, ...lanes } })).stdout);
    expect(carried).toMatchObject({ lane: 'blue', decidedBy: 'carrier', route: [{ service: 'b', lane: 'blue', inactive: true, servedLane: 'base' }] });
  });

  it('rules explain --route: the decided lane, then where each hop of the chain would send it now', async () => {
    const result = await graylane(['rules', 'explain', rules, '--url', '/a', '--header', 'baggage: lane=gray', '--trust', '127.0.0.0/8', '--client', '127.0.0.1', '--route', 'b,c'], { env });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('decided by: the carried lane gray, client 127.0.0.1 is in a trusted network (--trust 127.0.0.0/8)');
    expect(result.stdout).toContain(`route now (file ${registryDir} registry):`);
    expect(result.stdout).toMatch(/ {2}b: lane gray -> 127\.0\.0\.1:\d+ \[base\], fallback .*\n {4}passed over gray: no instance in that lane\n {4}passed over rc: no instance in that lane/);
    expect(result.stdout).toContain(`  c: lane gray -> ${id('c')} [base], fallback (registered: base 1)`);
    const strict = await graylane(['rules', 'explain', rules, '--url', '/a?group=gray', '--entry', 'other-app', '--route', 'a'], { env });
    expect(strict.code).toBe(1); // canary (strict) has no instance of a
    expect(strict.stdout).toContain('a: lane canary -> FAILS: GRAYLANE_ERR_STRICT_LANE');
  });

  it('needs --service', async () => {
    const result = await graylane(['route', '--lane', 'gray'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^graylane: usage: --service is required/);
  });
});
