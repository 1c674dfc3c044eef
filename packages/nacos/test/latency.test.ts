// Measures how long a change takes to reach a subscriber on another connection, and a config
// publish to reach a watcher. Prints p50/p95; fails when a push is slower than 2 s.
// r-nacos merges naming changes for 500 ms and flushes every 500 ms, so a change waits 0.5-1 s; the
// pauses between changes are random so that the samples are not phase-locked to that flush.
import type { Instance } from '@graylane/core';
import { createNacosConfig, createNacosRegistry } from '../src/index.js';
import { Inbox, collectingLogger, freshPort, useRnacos } from './rnacos.js';

const nacos = useRnacos();
const CHANGES = 20;
const pause = () => new Promise((resolve) => setTimeout(resolve, Math.random() * 500));

function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summary(what: string, samples: readonly number[]): string {
  return `${what}: n=${samples.length} p50=${percentile(samples, 50)} ms p95=${percentile(samples, 95)} ms max=${Math.max(...samples)} ms`;
}

describe('push latency on r-nacos', () => {
  it(`deregister → empty list at another client, over ${CHANGES} changes`, async () => {
    const options = { serverAddr: nacos.serverAddr, clientIp: '127.0.0.1', logger: collectingLogger() };
    const registrant = createNacosRegistry(options);
    const watcher = createNacosRegistry(options);
    const service = `latency-${process.pid}`;
    const inbox = new Inbox<readonly Instance[]>();
    watcher.subscribe(service, inbox.push);
    await inbox.until(() => true, 3000, 'the first list');
    const deregisterMs: number[] = [];
    const registerMs: number[] = [];
    for (let i = 0; i < CHANGES / 2; i++) {
      const registration = { service, host: '127.0.0.1', port: freshPort(), lane: 'gray' };
      await pause();
      let started = Date.now();
      await registrant.register(registration);
      await inbox.until((list) => list.length === 1, 2000, 'the instance');
      registerMs.push(Date.now() - started);
      await pause();
      started = Date.now();
      await registrant.deregister(registration);
      await inbox.until((list) => list.length === 0, 2000, 'the empty list');
      deregisterMs.push(Date.now() - started);
    }
    await Promise.all([registrant.close(), watcher.close()]);
    console.log(
      [summary('any change → push', [...deregisterMs, ...registerMs]), summary('deregister → empty list', deregisterMs), summary('register → push', registerMs)].join('\n'),
    );
  }, 60_000);

  it('config publish → watch callback', async () => {
    const publisher = createNacosConfig({ serverAddr: nacos.serverAddr, logger: collectingLogger() });
    const watcher = createNacosConfig({ serverAddr: nacos.serverAddr, logger: collectingLogger() });
    const dataId = `latency-${process.pid}.yaml`;
    const inbox = new Inbox<string | undefined>();
    watcher.watch(dataId, undefined, inbox.push);
    await inbox.until(() => true, 3000, 'the first content');
    const samples: number[] = [];
    for (let i = 0; i < 10; i++) {
      const started = Date.now();
      await publisher.publish(dataId, `revision: ${i}`);
      await inbox.until((content) => content === `revision: ${i}`, 2000, `revision ${i}`);
      samples.push(Date.now() - started);
    }
    await Promise.all([publisher.close(), watcher.close()]);
    console.log(summary('config publish → watch', samples));
  }, 30_000);
});
