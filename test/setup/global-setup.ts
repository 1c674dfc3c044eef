/**
 * Starts the real Nacos servers the end-to-end suites use, on private loopback ports: r-nacos and
 * the Java Nacos server, in parallel. Their addresses go to GRAYLANE_TEST_NACOS_ADDR (r-nacos) and
 * GRAYLANE_TEST_JAVA_NACOS_ADDR. A server that cannot be built or started fails the run with the
 * reason: Nacos suites never skip.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NacosTestNode } from '../../scripts/nacos/servers.cjs';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const servers = require(join(__dirname, '..', '..', 'scripts', 'nacos', 'servers.cjs')) as typeof import('../../scripts/nacos/servers.cjs');

declare global {
  // eslint-disable-next-line no-var
  var __GRAYLANE_NACOS_SERVERS__: NacosTestNode[] | undefined;
}

export default async function globalSetup(): Promise<void> {
  // Processes the suites start keep their Nacos failover cache in a throw-away folder.
  process.env['GRAYLANE_NACOS_CACHE_DIR'] ??= mkdtempSync(join(tmpdir(), 'graylane-nacos-cache-'));
  await servers.prepareTestServers({ log: (line) => process.stdout.write(`${line}\n`) });
  const [rnacos, java] = await Promise.all([servers.startNacos('rnacos'), servers.startNacos('java')]);
  globalThis.__GRAYLANE_NACOS_SERVERS__ = [rnacos, java];
  process.env['GRAYLANE_TEST_NACOS_ADDR'] = rnacos.serverAddr;
  process.env['GRAYLANE_TEST_JAVA_NACOS_ADDR'] = java.serverAddr;
}
