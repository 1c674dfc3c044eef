import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InstanceRegistration, Registry } from '@graylane/core';
import { createFileRegistry } from '@graylane/registry';
import { collect, graylane, start } from './graylane.js';

describe('graylane lanes, on the file registry', () => {
  let dir: string;
  let registry: Registry;
  const base: InstanceRegistration = { service: 'orders', host: '10.0.0.1', port: 8080 };
  const gray: InstanceRegistration = { service: 'orders', host: '10.0.0.2', port: 8080, lane: 'gray', weight: 2 };
  const cart: InstanceRegistration = { service: 'cart', host: '10.0.0.3', port: 9090, lane: 'gray' };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'graylane-cli-lanes-'));
    registry = createFileRegistry({ dir });
    await Promise.all([registry.register(base), registry.register(gray), registry.register(cart)]);
  });

  afterAll(async () => {
    await registry.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists every service in the directory as a table', async () => {
    const result = await graylane(['lanes'], { env: { GRAYLANE_REGISTRY_DIR: dir } });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout.split('\n')).toEqual([
      'service  lane  address        healthy  weight',
      'cart     gray  10.0.0.3:9090  yes      1',
      'orders   base  10.0.0.1:8080  yes      1',
      'orders   gray  10.0.0.2:8080  yes      2',
      '',
    ]);
  });

  it('lists the services named with --service, as JSON with --json', async () => {
    const result = await graylane(['lanes', '--service', 'orders', '--json'], { env: { GRAYLANE_REGISTRY_DIR: dir } });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([
      expect.objectContaining({ service: 'orders', lane: 'base', address: '10.0.0.1:8080', healthy: true, enabled: true, weight: 1 }),
      expect.objectContaining({ service: 'orders', lane: 'gray', address: '10.0.0.2:8080', weight: 2 }),
    ]);
  });

  it('says so when the directory has no services', async () => {
    const empty = join(dir, 'nothing-here');
    const result = await graylane(['lanes'], { env: { GRAYLANE_REGISTRY_DIR: empty } });
    expect(result).toMatchObject({ code: 0, stdout: 'service  lane  address  healthy  weight\n' });
    expect(result.stderr).toBe(`graylane: no services in the file registry ${empty}\n`);
  });

  it('prints changes with --watch until interrupted, picking up new services', async () => {
    const child = start(['lanes', '--watch'], { env: { GRAYLANE_REGISTRY_DIR: dir } });
    const output = collect(child);
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const printed = async (pattern: RegExp) => {
      for (let waited = 0; !pattern.test(output.stdout); waited += 50) {
        if (waited > 15_000) throw new Error(`timed out waiting for ${pattern}; printed:\n${output.stdout}${output.stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const canary: InstanceRegistration = { service: 'orders', host: '10.0.0.4', port: 8080, lane: 'canary' };
    const payments: InstanceRegistration = { service: 'payments', host: '10.0.0.5', port: 7070 };
    try {
      await printed(/^orders {3}gray {2}10\.0\.0\.2:8080/m);
      await registry.register(canary);
      await printed(/^\d\d:\d\d:\d\d \+ orders {2}canary {2}10\.0\.0\.4:8080 {2}yes {2}1$/m);
      await registry.deregister(canary);
      await printed(/^\d\d:\d\d:\d\d - orders {2}canary {2}10\.0\.0\.4:8080/m);
      await registry.register(payments);
      await printed(/^\d\d:\d\d:\d\d \+ payments {2}base {2}10\.0\.0\.5:7070/m);
    } finally {
      child.kill('SIGINT');
      await registry.deregister(payments);
    }
    expect(await exited).toBe(0);
    expect(output.stderr).toBe('');
  });

  it('needs --service with Nacos, which cannot list services', async () => {
    const result = await graylane(['lanes'], { env: { NACOS_SERVER_ADDR: '127.0.0.1:8848' } });
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toMatch(/^graylane: usage: with Nacos \(NACOS_SERVER_ADDR is set\), name the services to list with --service/);
  });
});
