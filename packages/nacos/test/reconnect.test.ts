import type { Instance } from '@graylane/core';
import { createNacosConfig, createNacosRegistry } from '../src/index.js';
import type { NacosConfig } from '../src/index.js';
import type { Registry } from '@graylane/core';
import { Inbox, collectingLogger, freshPort, useRnacos } from './rnacos.js';

const nacos = useRnacos();
const closables: (Registry | NacosConfig)[] = [];

afterAll(async () => {
  await Promise.all(closables.map((c) => c.close()));
});

function registry(logger = collectingLogger()): Registry {
  const created = createNacosRegistry({ serverAddr: nacos.serverAddr, clientIp: '127.0.0.1', logger });
  closables.push(created);
  return created;
}

function config(logger = collectingLogger()): NacosConfig {
  const created = createNacosConfig({ serverAddr: nacos.serverAddr, logger });
  closables.push(created);
  return created;
}

const ports = (list: readonly Instance[]) => list.map((instance) => instance.port).sort();

describe('reconnect after a server restart', () => {
  it('re-registers, re-subscribes and re-listens', async () => {
    const service = `reconnect-${process.pid}`;
    const dataId = `reconnect-${process.pid}.yaml`;
    const first = freshPort();
    const registrantLog = collectingLogger();
    const registrant = registry(registrantLog);
    const watched = new Inbox<readonly Instance[]>();
    registry().subscribe(service, watched.push);
    const contents = new Inbox<string | undefined>();
    await config().publish(dataId, 'v1');
    config().watch(dataId, undefined, contents.push);

    await registrant.register({ service, host: '127.0.0.1', port: first, lane: 'gray' });
    await watched.until((list) => ports(list).join() === `${first}`, 3000, 'the instance before the restart');
    await contents.until((content) => content === 'v1', 3000, 'v1');

    await nacos.node.restart(); // same ports and data directory; the server forgets every connection

    // The registration was redone: a client that connects only now sees it.
    const fresh = new Inbox<readonly Instance[]>();
    registry().subscribe(service, fresh.push);
    const [instance] = await fresh.until((list) => list.length === 1, 10_000, 'the re-registered instance');
    expect(instance).toMatchObject({ port: first, lane: 'gray' });

    // The subscription was redone: a change made after the restart reaches the old subscriber.
    const second = freshPort();
    await registry().register({ service, host: '127.0.0.1', port: second });
    await watched.until((list) => ports(list).join() === [first, second].sort().join(), 10_000, 'both instances');

    // The config listener was redone: a publish after the restart reaches the old watcher.
    await config().publish(dataId, 'v2');
    await contents.until((content) => content === 'v2', 10_000, 'v2 after the restart');

    expect(registrantLog.messages.join('\n')).toMatch(/lost the Nacos naming connection[\s\S]*established/);
  }, 30_000);
});
