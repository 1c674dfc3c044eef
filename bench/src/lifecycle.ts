/**
 * Lane switch figures (issue 15 item 1): how long from `graylane lane disable/enable` publishing the
 * lane store to Nacos config until every service applies it. Three services (each a lane store
 * follower, `followLanes` of @graylane/node, on its own Nacos connection) follow one config; a
 * publisher flips the lane's `enabled` switch; a sample is the time until the last of the three
 * routes by the new state (`lanes.inactive()`). Run on r-nacos and on the Java Nacos server.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createNacosConfig } from '@graylane/nacos';
import type { NacosClientOptions } from '@graylane/nacos';
import { followLanes, nacosRuleSource } from '@graylane/node';
import { serializeLaneStore } from '@graylane/rules';
import type { Suite } from './suites.js';

type Servers = typeof import('../../scripts/nacos/servers.cjs');

const SERVICES = 3;
const CHANGE_TIMEOUT_MS = 5_000;
const TARGET_P95_MS = 1_000;

function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const store = (enabled: boolean, i: number) =>
  serializeLaneStore({ kind: 'graylane.io/v1alpha1/Lanes', lanes: [{ tag: 'gray', rule: '', services: ['a', 'c'], enabled, changedBy: 'bench', changedAt: new Date(i * 1000).toISOString() }] });

async function switches(options: NacosClientOptions, changes: number): Promise<number[]> {
  const dataId = `bench-lanes-${process.pid}.json`;
  const publisher = createNacosConfig(options);
  await publisher.publish(dataId, store(true, 0), undefined, { type: 'json' });
  const followers = Array.from({ length: SERVICES }, () => followLanes(nacosRuleSource({ ...options, dataId })));
  try {
    await Promise.all(followers.map((f) => f.ready()));
    const samples: number[] = [];
    for (let i = 1; i <= changes; i++) {
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 500));
      const disabled = i % 2 === 1;
      const applied = (f: (typeof followers)[number]) => f.inactive().has('gray') === disabled;
      const start = performance.now();
      const done = new Promise<number>((resolve, reject) => {
        const offs: Array<() => void> = [];
        const check = () => {
          if (!followers.every(applied)) return;
          clearTimeout(timer);
          offs.forEach((off) => off());
          resolve(performance.now() - start);
        };
        const timer = setTimeout(() => {
          offs.forEach((off) => off());
          reject(new Error(`switch ${i} not applied by every service within ${CHANGE_TIMEOUT_MS} ms`));
        }, CHANGE_TIMEOUT_MS);
        for (const f of followers) offs.push(f.onChange(check));
      });
      await publisher.publish(dataId, store(!disabled, i), undefined, { type: 'json' });
      samples.push(await done);
    }
    return samples;
  } finally {
    await Promise.all([...followers.map((f) => f.close()), publisher.remove(dataId).finally(() => publisher.close())]);
  }
}

export const lifecycle: Suite = {
  name: 'lifecycle',
  description: `lane switch (enabled/disabled published to Nacos config) → applied by every one of ${SERVICES} services, on r-nacos and the Java Nacos server (p50/p95, target p95 ≤ ${TARGET_P95_MS} ms)`,
  async run(ctx) {
    const servers = createRequire(import.meta.url)(join(ctx.distDir, '..', '..', 'scripts', 'nacos', 'servers.cjs')) as Servers;
    const changes = ctx.quick ? 20 : 40;
    const result: Record<string, unknown> = {};
    const rows = [];
    for (const server of ['rnacos', 'java'] as const) {
      const node = await servers.startNacos(server, { log: ctx.log });
      try {
        const options: NacosClientOptions = { serverAddr: node.serverAddr, clientIp: '127.0.0.1', cacheDir: false, ...(node.auth ? { username: node.auth.username, password: node.auth.password } : {}) };
        ctx.log(`${servers.LABELS[server]} on ${node.serverAddr}; ${changes} lane switches`);
        const samples = await switches(options, changes);
        const p50 = Math.round(percentile(samples, 50));
        const p95 = Math.round(percentile(samples, 95));
        result[server] = { switch_p50_ms: p50, switch_p95_ms: p95, samples: samples.length, services: SERVICES };
        rows.push({
          name: `lane switch → applied by all ${SERVICES} services on ${servers.LABELS[server]}, p50 / p95 over ${samples.length} (\`lifecycle.${server}.switch_p95_ms\`)`,
          value: `${p50} ms / ${p95} ms`,
          target: `p95 ≤ ${TARGET_P95_MS} ms`,
          met: p95 <= TARGET_P95_MS,
        });
      } finally {
        await node.stop();
      }
    }
    const worst = Math.max(...Object.values(result).map((figures) => (figures as { switch_p95_ms: number }).switch_p95_ms));
    return { result: { lifecycle: { switch_p95_ms: worst, ...result } }, rows };
  },
};
