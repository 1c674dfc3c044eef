import { WireNames, laneFromMetadata } from '@graylane/core';
import { createNacosClient } from '../src/index.js';
import type { NacosClient, NacosInstance } from '../src/index.js';
import { Inbox, collectingLogger, freshPort, useRnacos } from './rnacos.js';

const nacos = useRnacos();
let serial = 0;
const uniqueService = (label: string) => `naming-${label}-${process.pid}-${++serial}`;
const clients: NacosClient[] = [];

function client(): NacosClient {
  const created = createNacosClient({ serverAddr: nacos.serverAddr, clientIp: '127.0.0.1', logger: collectingLogger() });
  clients.push(created);
  return created;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

const ports = (hosts: readonly NacosInstance[]) => hosts.map((host) => host.port);

describe('NacosNaming against r-nacos', () => {
  it('connects (ServerCheck, bi-stream, ConnectionSetup) and answers a subscribe with the current, empty list', async () => {
    const inbox = new Inbox<readonly NacosInstance[]>();
    client().naming.subscribe(uniqueService('empty'), inbox.push);
    await expect(inbox.until(() => true, 3000, 'the first list')).resolves.toEqual([]);
  });

  it('registers an instance with lane metadata that another client sees through its subscription', async () => {
    const service = uniqueService('lane');
    const port = freshPort();
    const inbox = new Inbox<readonly NacosInstance[]>();
    client().naming.subscribe(service, inbox.push);
    await client().naming.registerInstance({
      serviceName: service,
      ip: '127.0.0.1',
      port,
      weight: 3,
      metadata: { [WireNames.GRAYLANE_METADATA]: 'gray', zone: 'a' },
    });
    const [host] = await inbox.until((hosts) => hosts.length === 1, 3000, 'the instance');
    expect(host).toMatchObject({
      ip: '127.0.0.1',
      port,
      weight: 3,
      healthy: true,
      enabled: true,
      ephemeral: true,
      clusterName: 'DEFAULT',
      serviceName: service,
      metadata: { [WireNames.GRAYLANE_METADATA]: 'gray', zone: 'a' },
    });
    expect(laneFromMetadata(host!.metadata)).toBe('gray');
  });

  it('pushes an empty list within 2 s when the last instance deregisters', async () => {
    const service = uniqueService('drain');
    const port = freshPort();
    const registrant = client().naming;
    const inbox = new Inbox<readonly NacosInstance[]>();
    client().naming.subscribe(service, inbox.push);
    await registrant.registerInstance({ serviceName: service, ip: '127.0.0.1', port });
    await inbox.until((hosts) => hosts.length === 1, 3000, 'the instance');
    const started = Date.now();
    await registrant.deregisterInstance({ serviceName: service, ip: '127.0.0.1', port });
    await expect(inbox.until((hosts) => hosts.length === 0, 2000, 'the empty list')).resolves.toEqual([]);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('moves an instance to another lane by registering it again', async () => {
    const service = uniqueService('relane');
    const port = freshPort();
    const registrant = client().naming;
    const inbox = new Inbox<readonly NacosInstance[]>();
    client().naming.subscribe(service, inbox.push);
    const lane = (value: string) => ({ serviceName: service, ip: '127.0.0.1', port, metadata: { [WireNames.GRAYLANE_METADATA]: value } });
    await registrant.registerInstance(lane('gray'));
    await inbox.until((hosts) => laneFromMetadata(hosts[0]?.metadata) === 'gray', 3000, 'lane gray');
    await registrant.registerInstance(lane('rc'));
    const moved = await inbox.until((hosts) => laneFromMetadata(hosts[0]?.metadata) === 'rc', 3000, 'lane rc');
    expect(ports(moved)).toEqual([port]);
    await registrant.registerInstance(lane(''));
    const base = await inbox.until((hosts) => hosts.length === 1 && laneFromMetadata(hosts[0]?.metadata) === undefined, 3000, 'base');
    expect(ports(base)).toEqual([port]);
  });

  it('honours weight and groups', async () => {
    const service = uniqueService('group');
    const port = freshPort();
    const inGroup = new Inbox<readonly NacosInstance[]>();
    const inDefault = new Inbox<readonly NacosInstance[]>();
    const watcher = client().naming;
    watcher.subscribe(service, inGroup.push, { groupName: 'LANES' });
    watcher.subscribe(service, inDefault.push);
    await client().naming.registerInstance({ serviceName: service, groupName: 'LANES', ip: '127.0.0.1', port, weight: 0.5 });
    const [host] = await inGroup.until((hosts) => hosts.length === 1, 3000, 'the instance in group LANES');
    expect(host).toMatchObject({ weight: 0.5, healthy: true, enabled: true });
    expect(inDefault.items.every((hosts) => hosts.length === 0)).toBe(true);
  });

  it('sends enabled: false (r-nacos then leaves the instance out of the lists)', async () => {
    const service = uniqueService('disabled');
    const registrant = client().naming;
    const inbox = new Inbox<readonly NacosInstance[]>();
    client().naming.subscribe(service, inbox.push);
    await registrant.registerInstance({ serviceName: service, ip: '127.0.0.1', port: freshPort(), enabled: false });
    const enabledPort = freshPort();
    await registrant.registerInstance({ serviceName: service, ip: '127.0.0.1', port: enabledPort });
    const hosts = await inbox.until((list) => list.length > 0, 3000, 'the enabled instance');
    expect(ports(hosts)).toEqual([enabledPort]);
  });

  it('moves an instance between lanes many times on the same ip:port', async () => {
    const service = uniqueService('pinning');
    const port = freshPort();
    const registrant = client().naming;
    const inbox = new Inbox<readonly NacosInstance[]>();
    client().naming.subscribe(service, inbox.push);
    for (const lane of ['gray', 'rc', 'gray', 'base']) {
      await registrant.registerInstance({ serviceName: service, ip: '127.0.0.1', port, metadata: { [WireNames.GRAYLANE_METADATA]: lane } });
      await inbox.until((hosts) => hosts[0]?.metadata[WireNames.GRAYLANE_METADATA] === lane, 3000, `lane ${lane}`);
    }
    expect(inbox.items.flat().every((host) => host.healthy)).toBe(true);
  });

  it('delivers the cached list to a second listener of the same service, and stops a listener on unsubscribe', async () => {
    const service = uniqueService('listeners');
    const port = freshPort();
    const watcher = client().naming;
    const first = new Inbox<readonly NacosInstance[]>();
    const stopFirst = watcher.subscribe(service, first.push);
    await first.until(() => true, 3000, 'the first list');
    const second = new Inbox<readonly NacosInstance[]>();
    watcher.subscribe(service, second.push);
    await second.until(() => true, 1000, 'the cached list');
    stopFirst();
    await client().naming.registerInstance({ serviceName: service, ip: '127.0.0.1', port });
    await second.until((hosts) => hosts.length === 1, 3000, 'the instance');
    expect(first.items.every((hosts) => hosts.length === 0)).toBe(true);
  });

  it('drops the instances of a closed client (they live with its connection)', async () => {
    const service = uniqueService('ephemeral');
    const registrant = createNacosClient({ serverAddr: nacos.serverAddr, clientIp: '127.0.0.1' });
    const inbox = new Inbox<readonly NacosInstance[]>();
    client().naming.subscribe(service, inbox.push);
    await registrant.naming.registerInstance({ serviceName: service, ip: '127.0.0.1', port: freshPort() });
    await inbox.until((hosts) => hosts.length === 1, 3000, 'the instance');
    await registrant.close();
    await inbox.until((hosts) => hosts.length === 0, 3000, 'the empty list after close');
  });
});
