import { ErrorCode, GraylaneError } from '@graylane/core';
import { NacosConfig, createNacosConfig } from '../src/index.js';
import { resolveOptions } from '../src/options.js';
import { NacosConnection } from '../src/transport/connection.js';
import type { Send } from '../src/transport/connection.js';
import { Inbox, collectingLogger, useRnacos } from './rnacos.js';

const nacos = useRnacos();
let serial = 0;
const uniqueDataId = (label: string) => `config-${label}-${process.pid}-${++serial}.yaml`;
const clients: NacosConfig[] = [];

function client(namespace?: string): NacosConfig {
  const created = createNacosConfig({ serverAddr: nacos.serverAddr, logger: collectingLogger(), ...(namespace ? { namespace } : {}) });
  clients.push(created);
  return created;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

describe('NacosConfig against r-nacos', () => {
  it('reads a missing config as undefined', async () => {
    await expect(client().get(uniqueDataId('missing'))).resolves.toBeUndefined();
  });

  it('publishes, reads and removes a config', async () => {
    const config = client();
    const dataId = uniqueDataId('crud');
    await config.publish(dataId, 'lanes: [gray]\n', undefined, { type: 'yaml' });
    await expect(config.get(dataId)).resolves.toBe('lanes: [gray]\n');
    await expect(client().get(dataId, 'OTHER_GROUP')).resolves.toBeUndefined();
    await config.remove(dataId);
    await expect(config.get(dataId)).resolves.toBeUndefined();
  });

  it('keeps namespaces apart', async () => {
    const dataId = uniqueDataId('namespace');
    // A namespace must exist on the server (the client checks at start-up).
    const created = await fetch(`http://${nacos.serverAddr}/nacos/v1/console/namespaces`, {
      method: 'POST',
      body: new URLSearchParams({ customNamespaceId: 'team-a', namespaceName: 'team-a' }),
    });
    expect(created.status).toBe(200);
    await client('team-a').publish(dataId, 'a');
    await expect(client('team-a').get(dataId)).resolves.toBe('a');
    await expect(client().get(dataId)).resolves.toBeUndefined();
  });

  it('watch delivers the current content, then every change pushed by the server, then undefined on removal', async () => {
    const dataId = uniqueDataId('watch');
    const publisher = client();
    await publisher.publish(dataId, 'v1');
    const inbox = new Inbox<string | undefined>();
    client().watch(dataId, undefined, inbox.push);
    await inbox.until((content) => content === 'v1', 3000, 'the current content');
    await publisher.publish(dataId, 'v2');
    await inbox.until((content) => content === 'v2', 3000, 'v2');
    await publisher.remove(dataId);
    await inbox.until((content) => content === undefined, 3000, 'the removal');
    expect(inbox.items).toEqual(['v1', 'v2', undefined]);
  });

  it('watch of a missing config starts with undefined and sees it created; unwatch stops it', async () => {
    const dataId = uniqueDataId('create');
    const watcher = client();
    const inbox = new Inbox<string | undefined>();
    const unwatch = watcher.watch(dataId, 'RULES', inbox.push);
    await inbox.until((content) => content === undefined, 3000, 'undefined');
    await client().publish(dataId, 'created', 'RULES');
    await inbox.until((content) => content === 'created', 3000, 'the new config');
    unwatch();
    await client().publish(dataId, 'after unwatch', 'RULES');
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(inbox.items).toEqual([undefined, 'created']);
  });

  it('regression: a watch whose first listen request fails on a live connection still hears changes (retried with backoff)', async () => {
    const dataId = uniqueDataId('retry');
    const publisher = client();
    await publisher.publish(dataId, 'v1');
    // A real connection whose first ConfigBatchListenRequest times out, as a slow server would.
    const options = resolveOptions({ serverAddr: nacos.serverAddr, logger: collectingLogger(), cacheDir: false, configSyncIntervalMs: 0 });
    const connection = new NacosConnection(options, 'config');
    const ready = connection.ready.bind(connection);
    const wrapped = new WeakMap<Send, Send>();
    let failListens = 1;
    connection.ready = async (readyOptions) => {
      const send = await ready(readyOptions);
      if (!wrapped.has(send)) {
        wrapped.set(send, async (type, body) => {
          if (type === 'ConfigBatchListenRequest' && failListens > 0) {
            failListens--;
            throw new GraylaneError(ErrorCode.NACOS_TIMEOUT, 'Nacos ConfigBatchListenRequest timed out (injected)');
          }
          return send(type, body);
        });
      }
      return wrapped.get(send)!;
    };
    const watcher = new NacosConfig(connection, options);
    clients.push(watcher);
    const inbox = new Inbox<string | undefined>();
    watcher.watch(dataId, undefined, inbox.push);
    await inbox.until((content) => content === 'v1', 3000, 'v1');
    await new Promise((resolve) => setTimeout(resolve, 1000)); // past the first retry (≤ 0.5 s)
    expect(failListens).toBe(0);
    await publisher.publish(dataId, 'v2');
    await inbox.until((content) => content === 'v2', 3000, 'v2 through the retried listener');
  });
});
