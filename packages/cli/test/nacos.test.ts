// Against a real r-nacos (scripts/nacos/rnacos.cjs builds it once if it is missing). A server that
// cannot be built or started fails the suite with the reason; nothing is skipped.
import { readFileSync } from 'node:fs';
import type { Registry } from '@graylane/core';
import { createNacosConfig, createNacosRegistry } from '@graylane/nacos';
import type { NacosConfig } from '@graylane/nacos';
import { startRnacos } from '../../../scripts/nacos/rnacos.cjs';
import type { RnacosNode } from '../../../scripts/nacos/rnacos.cjs';
import { fixture, graylane } from './graylane.js';

/** Long enough for the one-time cargo build when the binary is not cached yet. */
const START_TIMEOUT_MS = 30 * 60_000;

describe('graylane against Nacos', () => {
  let node: RnacosNode;
  let config: NacosConfig;
  let env: Record<string, string>;

  beforeAll(async () => {
    node = await startRnacos({ log: (line) => process.stderr.write(`[rnacos] ${line}\n`) });
    config = createNacosConfig({ serverAddr: node.serverAddr });
    env = { NACOS_SERVER_ADDR: node.serverAddr };
  }, START_TIMEOUT_MS);

  afterAll(async () => {
    await config?.close();
    await node?.stop();
  });

  describe('rules publish', () => {
    it('publishes the file as written, to DEFAULT_GROUP unless told otherwise', async () => {
      const [plain, grouped] = await Promise.all([
        graylane(['rules', 'publish', fixture('native.yaml'), '--data-id', 'lanes.yaml'], { env }),
        graylane(['rules', 'publish', fixture('mse.json'), '--data-id', 'lanes.json', '--json'], { env: { ...env, NACOS_GROUP: 'mall' } }),
      ]);
      expect(plain).toMatchObject({ code: 0, stderr: '' });
      expect(plain.stdout).toBe(`published ${fixture('native.yaml')} to ${node.serverAddr} as DEFAULT_GROUP/lanes.yaml\n`);
      expect(await config.get('lanes.yaml')).toBe(readFileSync(fixture('native.yaml'), 'utf8'));
      expect(grouped.code).toBe(0);
      expect(JSON.parse(grouped.stdout)).toMatchObject({ group: 'mall', dataId: 'lanes.json', format: 'json', namespace: '' });
      expect(await config.get('lanes.json', 'mall')).toBe(readFileSync(fixture('mse.json'), 'utf8'));
    });

    it('publishes to --group, and prints warnings without refusing', async () => {
      const result = await graylane(['rules', 'publish', fixture('shadowed.yaml'), '--data-id', 'shadowed.yaml', '--group', 'mall'], { env });
      expect(result.code).toBe(0);
      expect(result.stderr).toMatch(/^graylane: warning: documents\[0\]\.lanes\[1\]\.match\[0\]: rule of lane "blue" can never match/);
      expect(await config.get('shadowed.yaml', 'mall')).toBe(readFileSync(fixture('shadowed.yaml'), 'utf8'));
    });

    it('refuses invalid rules and publishes nothing', async () => {
      const result = await graylane(['rules', 'publish', fixture('invalid.yaml'), '--data-id', 'invalid.yaml'], { env });
      expect(result).toMatchObject({ code: 1, stdout: '' });
      expect(result.stderr).toMatch(/^graylane: GRAYLANE_ERR_RULE_INVALID: invalid lane rules in .*invalid\.yaml \(3 problems\):\n {2}documents\[0\]/);
      expect(await config.get('invalid.yaml')).toBeUndefined();
    });

    it('needs NACOS_SERVER_ADDR and --data-id', async () => {
      const [noServer, noDataId] = await Promise.all([
        graylane(['rules', 'publish', fixture('native.yaml'), '--data-id', 'x']),
        graylane(['rules', 'publish', fixture('native.yaml')], { env }),
      ]);
      expect(noServer).toMatchObject({ code: 2, stdout: '' });
      expect(noServer.stderr).toMatch(/^graylane: usage: NACOS_SERVER_ADDR is not set/);
      expect(noDataId).toMatchObject({ code: 2, stdout: '' });
      expect(noDataId.stderr).toMatch(/^graylane: usage: --data-id is required/);
    });
  });

  describe('lanes', () => {
    let registry: Registry;

    beforeAll(async () => {
      registry = createNacosRegistry({ serverAddr: node.serverAddr });
      await registry.register({ service: 'cli-orders', host: '10.1.0.1', port: 8080 });
      await registry.register({ service: 'cli-orders', host: '10.1.0.2', port: 8080, lane: 'gray' });
    });

    afterAll(async () => {
      await registry?.close();
    });

    it('lists the instances of the services named', async () => {
      const result = await graylane(['lanes', '--service', 'cli-orders', '--service', 'cli-nobody'], { env });
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(result.stdout.split('\n')).toEqual([
        'service     lane  address        healthy  weight',
        'cli-orders  base  10.1.0.1:8080  yes      1',
        'cli-orders  gray  10.1.0.2:8080  yes      1',
        '',
      ]);
    });
  });
});
