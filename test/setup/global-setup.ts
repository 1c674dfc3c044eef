/**
 * Starts one real Nacos server (r-nacos) on private loopback ports for the end-to-end suites, and
 * publishes its address as GRAYLANE_TEST_NACOS_ADDR. r-nacos is built from crates.io on first use
 * (cached per machine). If it cannot be built or started, the run fails with the reason: Nacos
 * suites never skip.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RnacosNode } from '../../scripts/nacos/rnacos.cjs';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const rnacos = require(join(__dirname, '..', '..', 'scripts', 'nacos', 'rnacos.cjs')) as typeof import('../../scripts/nacos/rnacos.cjs');

declare global {
  // eslint-disable-next-line no-var
  var __GRAYLANE_RNACOS__: RnacosNode | undefined;
}

export default async function globalSetup(): Promise<void> {
  // Processes the suites start keep their Nacos failover cache in a throw-away folder.
  process.env['GRAYLANE_NACOS_CACHE_DIR'] ??= mkdtempSync(join(tmpdir(), 'graylane-nacos-cache-'));
  await rnacos.ensureRnacos({ log: (line) => process.stdout.write(`[r-nacos] ${line}\n`) });
  const node = await rnacos.startRnacos();
  globalThis.__GRAYLANE_RNACOS__ = node;
  process.env['GRAYLANE_TEST_NACOS_ADDR'] = node.serverAddr;
}
