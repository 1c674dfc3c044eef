// Nacos outages against a real r-nacos: the failover cache bridges a start-up while the server is
// down, registrations made meanwhile are sent when it returns, and the periodic md5 check catches
// a config change whose notification was lost.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Instance, Registry } from '@graylane/core';
import { NacosConfig as NacosConfigClass } from '../src/config.js';
import { createNacosConfig, createNacosRegistry } from '../src/index.js';
import type { NacosClientOptions, NacosConfig } from '../src/index.js';
import { resolveOptions } from '../src/options.js';
import { NacosConnection } from '../src/transport/connection.js';
import type { PushHandler } from '../src/transport/connection.js';
import { Inbox, collectingLogger, freshPort, useRnacos } from './rnacos.js';

const nacos = useRnacos();
const closables: (Registry | NacosConfig)[] = [];
let cacheDir: string;

beforeEach(() => {
  cacheDir = mkdtempSync(join(tmpdir(), 'graylane-failover-'));
});
afterEach(async () => {
  await Promise.all(closables.splice(0).map((c) => c.close()));
  rmSync(cacheDir, { recursive: true, force: true });
});

function options(overrides: Partial<NacosClientOptions> = {}): NacosClientOptions {
  return { serverAddr: nacos.serverAddr, clientIp: '127.0.0.1', cacheDir, logger: collectingLogger(), ...overrides };
}

function registry(overrides: Partial<NacosClientOptions> = {}): Registry {
  const created = createNacosRegistry(options(overrides));
  closables.push(created);
  return created;
}

function config(overrides: Partial<NacosClientOptions> = {}): NacosConfig {
  const created = createNacosConfig(options(overrides));
  closables.push(created);
  return created;
}

const ports = (list: readonly Instance[]) => list.map((instance) => instance.port).sort((a, b) => a - b);
const cachedFiles = (kind: 'naming' | 'config') => readdirSync(join(resolveOptions(options()).cacheDir!, kind));

describe('failover cache against r-nacos', () => {
  it('writes every instance list and config content it receives, and forgets a removed config', async () => {
    const service = `cached-${process.pid}`;
    const dataId = `cached-${process.pid}.yaml`;
    const watched = new Inbox<readonly Instance[]>();
    const watcher = registry();
    watcher.subscribe(service, watched.push);
    await watched.until((list) => list.length === 0, 3000, 'the empty list');
    const port = freshPort();
    await registry().register({ service, host: '127.0.0.1', port, lane: 'gray' });
    await watched.until((list) => list.length === 1, 3000, 'the instance');
    const reader = config();
    await config().publish(dataId, 'v1');
    await expect(reader.get(dataId)).resolves.toBe('v1');
    await Promise.all([watcher.close(), reader.close()]); // close() waits for the cache writes

    expect(cachedFiles('naming')).toEqual([expect.stringMatching(/^DEFAULT_GROUP_cached-\d+-[0-9a-f]{12}\.json$/)]);
    expect(cachedFiles('config')).toHaveLength(1);

    await config().remove(dataId);
    const again = config();
    await expect(again.get(dataId)).resolves.toBeUndefined();
    await again.close();
    expect(cachedFiles('config')).toHaveLength(0);
  });

  it('writes nothing with cacheDir: false', async () => {
    const dataId = `uncached-${process.pid}.yaml`;
    await config().publish(dataId, 'v1');
    const reader = config({ cacheDir: false });
    await expect(reader.get(dataId)).resolves.toBe('v1');
    await reader.close();
    expect(() => cachedFiles('config')).toThrow(/ENOENT/);
  });

  it('starts from the cache while Nacos is down, queues registrations, and follows the server once it is back', async () => {
    const service = `outage-${process.pid}`;
    const queuedService = `outage-queued-${process.pid}`;
    const dataId = `outage-${process.pid}.yaml`;

    // Before the outage: a client sees one instance of `service` and the config's v1, and caches them.
    const registrant = registry();
    const cachedPort = freshPort();
    await registrant.register({ service, host: '127.0.0.1', port: cachedPort, lane: 'gray' });
    await config().publish(dataId, 'v1');
    const before = registry();
    const seen = new Inbox<readonly Instance[]>();
    before.subscribe(service, seen.push);
    await seen.until((list) => list.length === 1, 3000, 'the instance before the outage');
    const beforeConfig = config();
    await expect(beforeConfig.get(dataId)).resolves.toBe('v1');
    await Promise.all([before.close(), beforeConfig.close(), registrant.close()]);

    await nacos.node.kill('SIGKILL');

    // A client started now, as a restarted service would be, answers from the cache.
    const logger = collectingLogger();
    const restarted = registry({ logger });
    const restartedConfig = config({ logger });
    const lists = new Inbox<readonly Instance[]>();
    const contents = new Inbox<string | undefined>();
    const startedAt = Date.now();
    restarted.subscribe(service, lists.push);
    restartedConfig.watch(dataId, undefined, contents.push);
    const [cached] = await lists.until((list) => list.length === 1, 3000, 'the cached list');
    expect(cached).toMatchObject({ port: cachedPort, lane: 'gray' });
    await contents.until((content) => content === 'v1', 3000, 'the cached content');
    await expect(restartedConfig.get(dataId)).resolves.toBe('v1');
    expect(Date.now() - startedAt).toBeLessThan(3000); // before a router's default 3 s ready timeout
    expect(logger.messages.join('\n')).toMatch(/serving the cached list of Nacos service DEFAULT_GROUP@@outage-\d+ \(1 instances/);
    expect(logger.messages.join('\n')).toMatch(/serving the cached content of config DEFAULT_GROUP\/outage-\d+\.yaml/);

    // Without a cached copy, a read fails as before.
    await expect(restartedConfig.get(`never-read-${process.pid}`)).rejects.toMatchObject({ code: 'GRAYLANE_ERR_NACOS' });

    // A registration made during the outage resolves (queued) instead of failing the service's start.
    const queuedPort = freshPort();
    await restarted.register({ service: queuedService, host: '127.0.0.1', port: queuedPort, lane: 'gray' });
    expect(logger.messages.join('\n')).toMatch(/is registered as soon as Nacos is back/);

    await nacos.node.restart(); // same ports and data: the config survives, ephemeral instances do not

    // The server's list (the registrant is gone: empty) replaces the cached one.
    await lists.until((list) => list.length === 0, 10_000, 'the live, empty list');
    // The queued registration was sent: a client that connects only now sees it.
    const fresh = new Inbox<readonly Instance[]>();
    registry().subscribe(queuedService, fresh.push);
    await fresh.until((list) => ports(list).join() === `${queuedPort}`, 10_000, 'the queued registration');
    // The watch started from the cache now follows the server.
    await config().publish(dataId, 'v2');
    await contents.until((content) => content === 'v2', 10_000, 'v2 after the restart');
  }, 60_000);
});

/** A config connection that never hears change notifications, as if every push were lost. */
class DeafConnection extends NacosConnection {
  override onPush(type: string, handler: PushHandler): void {
    if (type !== 'ConfigChangeNotifyRequest') super.onPush(type, handler);
  }
}

describe('periodic config check', () => {
  function deafWatcher(configSyncIntervalMs: number): NacosConfig {
    const resolved = resolveOptions(options({ configSyncIntervalMs }));
    const created = new NacosConfigClass(new DeafConnection(resolved, 'config'), resolved);
    closables.push(created);
    return created;
  }

  it.each([
    ['delivers a change whose notification was lost at the next check', 500, 'v2'],
    ['(control) misses it without the check', 0, 'v1'],
  ])('%s', async (_name, interval, expected) => {
    const dataId = `sync-${interval}-${process.pid}.yaml`;
    await config().publish(dataId, 'v1');
    const contents = new Inbox<string | undefined>();
    deafWatcher(interval).watch(dataId, undefined, contents.push);
    await contents.until((content) => content === 'v1', 3000, 'v1');
    await config().publish(dataId, 'v2');
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(contents.items.at(-1)).toBe(expected);
  });
});
