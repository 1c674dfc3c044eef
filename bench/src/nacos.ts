/**
 * Nacos propagation figures (issue 5 item 6), against a real r-nacos started for the run:
 *
 * - instance change → routing change: client B registers or deregisters an instance; measured until
 *   the lane router of client A (on its own connection) lists the change (`router.onChange`);
 * - rule publish → applied: client B publishes lane rules to a config; measured until the rules
 *   manager of client A (`createRulesManager` over `nacosRuleSource`) has applied them.
 *
 * r-nacos merges naming changes for 500 ms and flushes every 500 ms (hard-coded in 0.8.x), so an
 * instance change waits 0.5-1 s there, whatever the client does; the pauses between changes are
 * random so that samples are not phase-locked to that flush.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Instance } from '@graylane/core';
import { createNacosConfig, createNacosRegistry } from '@graylane/nacos';
import type { NacosClientOptions } from '@graylane/nacos';
import { createRulesManager, nacosRuleSource } from '@graylane/node';
import { createRouter } from '@graylane/router';
import type { Suite } from './suites.js';

type Rnacos = typeof import('../../scripts/nacos/rnacos.cjs');

/** A change must arrive within this long, or the suite fails. */
const CHANGE_TIMEOUT_MS = 5_000;
const TARGET_P95_MS = 1_000;

/** The r-nacos helper, loaded at run time: it is CommonJS with its own `require`s, not for bundling. */
function loadRnacos(distDir: string): Rnacos {
  return createRequire(import.meta.url)(join(distDir, '..', '..', 'scripts', 'nacos', 'rnacos.cjs')) as Rnacos;
}

/** Why r-nacos cannot be had on this machine, or `undefined` when it can (built, or buildable with cargo). */
function unavailable(rnacos: Rnacos): string | undefined {
  if (existsSync(rnacos.rnacosBinary())) return undefined;
  try {
    execFileSync('cargo', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return `r-nacos ${rnacos.RNACOS_VERSION} is not built (${rnacos.rnacosBinary()}) and cargo is not on PATH to build it; install Rust (https://rustup.rs) or set GRAYLANE_RNACOS_BIN`;
  }
}

/** The `p`th percentile (nearest rank) of `samples`. */
function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const pause = () => new Promise((resolve) => setTimeout(resolve, Math.random() * 500));

/**
 * Milliseconds from now until a value delivered to `subscribe`'s listener satisfies `condition`;
 * rejects after {@link CHANGE_TIMEOUT_MS}.
 */
function until<T>(subscribe: (listener: (value: T) => void) => () => void, condition: (value: T) => boolean, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`${what} did not arrive within ${CHANGE_TIMEOUT_MS} ms`));
    }, CHANGE_TIMEOUT_MS);
    const unsubscribe = subscribe((value) => {
      if (!condition(value)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(performance.now() - started);
    });
  });
}

/** `changes` instance changes (register, deregister, ...) by one client, seen by another client's router. */
async function instanceChanges(options: NacosClientOptions, changes: number): Promise<number[]> {
  const registrant = createNacosRegistry(options);
  const watcher = createNacosRegistry(options);
  const router = createRouter(watcher);
  const service = `bench-instance-${process.pid}`;
  try {
    await router.ready([service]);
    const samples: number[] = [];
    for (let i = 0; i < changes; i++) {
      // Even changes register an instance, odd ones deregister it; each pair uses its own port.
      const registration = { service, host: '127.0.0.1', port: 30_000 + Math.floor(i / 2), lane: 'gray' };
      const count = i % 2 === 0 ? 1 : 0;
      await pause();
      const seen = until<readonly Instance[]>(
        (listener) => router.onChange((changed, instances) => changed === service && listener(instances)),
        (instances) => instances.length === count,
        `change ${i + 1}`,
      );
      if (count === 1) await registrant.register(registration);
      else await registrant.deregister(registration);
      samples.push(await seen);
    }
    return samples;
  } finally {
    router.close();
    await Promise.all([registrant.close(), watcher.close()]);
  }
}

/** Lane rules whose `n` makes every revision's content, and md5, different. */
const rules = (n: number) => `apiVersion: traffic.opensergo.io/v1alpha1
kind: TrafficLabelRule
metadata:
  name: bench-${n}
spec:
  trafficLabel: gray
  match:
    - condition: "=="
      type: header
      key: x-bench
      value: "${n}"
`;

/** `changes` rule publishes by one client, applied by another client's rules manager. */
async function ruleChanges(options: NacosClientOptions, changes: number): Promise<number[]> {
  const dataId = `bench-rules-${process.pid}.yaml`;
  const publisher = createNacosConfig(options);
  await publisher.publish(dataId, rules(0), undefined, { type: 'yaml' });
  const manager = createRulesManager(nacosRuleSource({ ...options, dataId }));
  try {
    await manager.ready();
    const samples: number[] = [];
    for (let i = 1; i <= changes; i++) {
      await pause();
      const md5 = createHash('md5').update(rules(i)).digest('hex');
      const applied = until<string>(
        (listener) => manager.onChange((update) => listener(update.md5)),
        (appliedMd5) => appliedMd5 === md5,
        `rules revision ${i}`,
      );
      await publisher.publish(dataId, rules(i), undefined, { type: 'yaml' });
      samples.push(await applied);
    }
    return samples;
  } finally {
    await Promise.all([manager.close(), publisher.close()]);
  }
}

/** The `nacos` suite: see the file comment. Skipped, with the reason, when r-nacos cannot be had. */
export const nacos: Suite = {
  name: 'nacos',
  description: `instance change → routing change and rule publish → applied over Nacos gRPC, on a real r-nacos (p50/p95, target p95 ≤ ${TARGET_P95_MS} ms)`,
  async run(ctx) {
    const rnacos = loadRnacos(ctx.distDir);
    const reason = unavailable(rnacos);
    if (reason) {
      ctx.log(`skipped: ${reason}`);
      return { result: { nacos: { skipped: reason } }, rows: [{ name: 'nacos figures', value: `skipped: ${reason}` }] };
    }
    const changes = ctx.quick ? 20 : 40;
    const node = await rnacos.startRnacos({ log: ctx.log });
    try {
      const options: NacosClientOptions = { serverAddr: node.serverAddr, clientIp: '127.0.0.1', cacheDir: false };
      ctx.log(`r-nacos ${rnacos.RNACOS_VERSION} on ${node.serverAddr}; ${changes} instance changes`);
      const instance = await instanceChanges(options, changes);
      ctx.log(`${changes} rule publishes`);
      const rule = await ruleChanges(options, changes);
      const figures = {
        instance_change_p50_ms: Math.round(percentile(instance, 50)),
        instance_change_p95_ms: Math.round(percentile(instance, 95)),
        instance_change_samples: instance.length,
        rule_change_p50_ms: Math.round(percentile(rule, 50)),
        rule_change_p95_ms: Math.round(percentile(rule, 95)),
        rule_change_samples: rule.length,
        server: `r-nacos ${rnacos.RNACOS_VERSION}`,
      };
      return {
        result: { nacos: figures },
        rows: [
          {
            name: `instance change → routing change on another client, p50 / p95 over ${instance.length} (\`nacos.instance_change_p95_ms\`)`,
            value: `${figures.instance_change_p50_ms} ms / ${figures.instance_change_p95_ms} ms`,
            target: `p95 ≤ ${TARGET_P95_MS} ms`,
            met: figures.instance_change_p95_ms <= TARGET_P95_MS,
          },
          {
            name: `rule publish → applied by another client's rules manager, p50 / p95 over ${rule.length} (\`nacos.rule_change_p95_ms\`)`,
            value: `${figures.rule_change_p50_ms} ms / ${figures.rule_change_p95_ms} ms`,
            target: `p95 ≤ ${TARGET_P95_MS} ms`,
            met: figures.rule_change_p95_ms <= TARGET_P95_MS,
          },
        ],
      };
    } finally {
      await node.stop();
    }
  },
};
