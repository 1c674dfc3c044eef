import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InstanceRegistration, Registry } from '@graylane/core';
import { createFileRegistry } from '@graylane/registry';
import { graylane } from './graylane.js';

describe('graylane lane, on the lane file and the file registry', () => {
  let dir: string;
  let env: Record<string, string>;
  let registry: Registry;
  const lanesFile = () => join(dir, 'lanes.json');
  const aBase: InstanceRegistration = { service: 'a', host: '127.0.0.1', port: 4001 };
  const aGray: InstanceRegistration = { service: 'a', host: '127.0.0.1', port: 4002, lane: 'gray' };
  const cBase: InstanceRegistration = { service: 'c', host: '127.0.0.1', port: 4003 };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'graylane-cli-lane-'));
    env = { GRAYLANE_LANES_FILE: join(dir, 'lanes.json'), GRAYLANE_REGISTRY_DIR: join(dir, 'registry') };
    registry = createFileRegistry({ dir: join(dir, 'registry') });
    await Promise.all([registry.register(aBase), registry.register(aGray), registry.register(cBase)]);
  });
  afterAll(async () => {
    await registry.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('without a lane store named, is a usage error', async () => {
    const result = await graylane(['lane', 'status']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('GRAYLANE_LANES_FILE');
  });

  it('create validates, records who, refuses a second create; an invalid rule writes nothing', async () => {
    const bad = await graylane(['lane', 'create', 'gray', '--rule', 'nonsense'], { env });
    expect(bad.code).toBe(2);
    const rulesFile = join(dir, 'bad-rules.json');
    writeFileSync(rulesFile, JSON.stringify({ lanes: [{ tag: 'gray', match: [{ type: 'query', name: 'x', operator: 'regex', value: '(' }] }] }));
    const invalid = await graylane(['lane', 'create', 'gray', '--rule', rulesFile], { env });
    expect(invalid.code).toBe(1);
    expect(() => readFileSync(lanesFile())).toThrow();

    const created = await graylane(['lane', 'create', 'gray', '--rule', 'query:group=gray', '--services', 'a,c', '--expires', '2h', '--by', 'ci', '--json'], { env });
    expect(created).toMatchObject({ code: 0, stderr: '' });
    const lane = JSON.parse(created.stdout);
    expect(lane).toMatchObject({ tag: 'gray', services: ['a', 'c'], enabled: true, changedBy: 'ci' });
    expect(Date.parse(lane.expiresAt) - Date.parse(lane.changedAt)).toBe(2 * 3600_000);
    expect(JSON.parse(readFileSync(lanesFile(), 'utf8')).lanes).toHaveLength(1);
    expect((await graylane(['lane', 'create', 'gray', '--rule', 'query:group=gray'], { env })).code).toBe(1);
  });

  it('status: per service, lane and base instances; incomplete until every listed service has a lane instance', async () => {
    const incomplete = await graylane(['lane', 'status', 'gray', '--json'], { env });
    expect(incomplete.code).toBe(1);
    const status = JSON.parse(incomplete.stdout);
    expect(status).toMatchObject({ lane: 'gray', inStore: true, active: true, complete: false });
    expect(status.services.map((s: { service: string; lane: number; base: number }) => [s.service, s.lane, s.base])).toEqual([
      ['a', 1, 1],
      ['c', 0, 1],
    ]);
    const cGray: InstanceRegistration = { service: 'c', host: '127.0.0.1', port: 4004, lane: 'gray' };
    await registry.register(cGray);
    try {
      const complete = await graylane(['lane', 'status', 'gray'], { env });
      expect(complete.code).toBe(0);
      expect(complete.stdout).toContain('complete: yes');
    } finally {
      await registry.deregister(cGray);
    }
    expect((await graylane(['lane', 'status', 'nope'], { env })).code).toBe(1);
  });

  it('disable, enable, promote change the switch and record it', async () => {
    expect((await graylane(['lane', 'disable', 'gray', '--by', 'oncall'], { env })).code).toBe(0);
    let stored = JSON.parse(readFileSync(lanesFile(), 'utf8')).lanes[0];
    expect(stored).toMatchObject({ enabled: false, changedBy: 'oncall' });
    expect((await graylane(['lane', 'enable', 'gray'], { env })).code).toBe(0);
    expect((await graylane(['lane', 'promote', 'gray'], { env })).code).toBe(0);
    stored = JSON.parse(readFileSync(lanesFile(), 'utf8')).lanes[0];
    expect(stored.enabled).toBe(true);
    expect(typeof stored.promotedAt).toBe('string');
    expect((await graylane(['lane', 'disable', 'nope'], { env })).code).toBe(1);
  });

  describe('verify, against an entry answering with a trail', () => {
    let server: Server;
    let trail = (gray: boolean) => `gateway[base] > a[${gray ? 'gray' : 'base'}]@127.0.0.1:4002 > c[base]@127.0.0.1:4003`;
    let entry: string;
    beforeAll(async () => {
      server = createServer((req, res) => {
        res.setHeader('x-graylane-trail', trail(Boolean(req.url?.includes('group=gray'))));
        res.end('ok');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      entry = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => server.close());

    it('passes when a serves gray and c (no gray instance) base; prints the chain; writes JUnit', async () => {
      const junit = join(dir, 'verify.xml');
      const result = await graylane(['lane', 'verify', 'gray', '--entry', entry, '--path', '/a?group=gray', '--expect', 'a,c', '--junit', junit], { env });
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('ok   a[gray]@127.0.0.1:4002 (expected gray)');
      expect(result.stdout).toContain('ok   c[base]@127.0.0.1:4003 (expected base, fallback)');
      expect(readFileSync(junit, 'utf8')).toContain('failures="0"');
    });

    it('fails loudly when a hop serves the wrong lane', async () => {
      // c has no instance in gray, yet its hop answers from gray: the wrong lane, whatever the registry says of a.
      trail = () => 'gateway[base] > a[gray]@127.0.0.1:4002 > c[gray]@127.0.0.1:4005';
      const junit = join(dir, 'verify-fail.xml');
      const result = await graylane(['lane', 'verify', 'gray', '--entry', entry, '--path', '/a?group=gray', '--junit', junit], { env });
      expect(result.code).toBe(1);
      expect(result.stdout).toContain('FAIL c[gray]@127.0.0.1:4005 (expected base, fallback)');
      expect(result.stderr).toContain('c@127.0.0.1:4005 served gray, expected base');
      expect(result.stderr).toContain('FAILED');
      expect(readFileSync(junit, 'utf8')).toMatch(/failures="[1-9]"/);
      trail = (gray: boolean) => `gateway[base] > a[${gray ? 'gray' : 'base'}]@127.0.0.1:4002 > c[base]@127.0.0.1:4003`;
    });

    it('a disabled lane is expected on base everywhere', async () => {
      await graylane(['lane', 'disable', 'gray'], { env });
      trail = () => 'gateway[base] > a[base]@127.0.0.1:4001 > c[base]@127.0.0.1:4003'; // as a chain with the lane off answers
      const result = await graylane(['lane', 'verify', 'gray', '--entry', entry, '--path', '/a?group=gray', '--json'], { env });
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ passed: true, active: false, laneServices: [] });
      await graylane(['lane', 'enable', 'gray'], { env });
    });
  });

  it('cleanup waits for the lane to drain, removes it, and reports what remained', async () => {
    const stuck = await graylane(['lane', 'cleanup', 'gray', '--timeout', '300ms', '--json'], { env });
    expect(stuck.code).toBe(1);
    expect(JSON.parse(stuck.stdout)).toMatchObject({ removed: true, drained: false, remaining: [expect.objectContaining({ service: 'a', id: '127.0.0.1:4002' })] });
    expect(JSON.parse(readFileSync(lanesFile(), 'utf8')).lanes).toEqual([]);

    await graylane(['lane', 'create', 'gray', '--rule', 'query:group=gray', '--services', 'a'], { env });
    setTimeout(() => void registry.deregister(aGray), 700);
    const started = Date.now();
    const drained = await graylane(['lane', 'cleanup', 'gray', '--timeout', '10s'], { env });
    expect(drained.code).toBe(0);
    expect(drained.stdout).toContain('drained');
    expect(Date.now() - started).toBeGreaterThan(600);
    expect(JSON.parse(readFileSync(lanesFile(), 'utf8')).lanes).toEqual([]);
  }, 20_000);
});
