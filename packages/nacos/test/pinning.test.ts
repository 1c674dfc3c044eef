// Why scripts/nacos/rnacos.cjs starts r-nacos with RNACOS_NAMING_INSTANCE_METADATA_PERSISTENCE_ENABLE
// =false, and why docs/guides/nacos.md asks r-nacos operators to do the same: with r-nacos' default,
// the metadata an ip:port first registers with is pinned, and a lane change by re-registration is
// silently ignored. If this test starts failing, r-nacos has changed and the advice can go.
import { WireNames } from '@graylane/core';
import { createNacosClient } from '../src/index.js';
import type { NacosInstance } from '../src/index.js';
import { Inbox, collectingLogger, freshPort, useRnacos } from './rnacos.js';

const nacos = useRnacos({ RNACOS_NAMING_INSTANCE_METADATA_PERSISTENCE_ENABLE: 'true' });

it('r-nacos with metadata persistence keeps the first metadata of an ip:port across re-registrations', async () => {
  const registrant = createNacosClient({ serverAddr: nacos.serverAddr, clientIp: '127.0.0.1', logger: collectingLogger() });
  const watcher = createNacosClient({ serverAddr: nacos.serverAddr, clientIp: '127.0.0.1', logger: collectingLogger() });
  const service = `pinning-${process.pid}`;
  const port = freshPort();
  const lane = (value: string) => ({ serviceName: service, ip: '127.0.0.1', port, metadata: { [WireNames.GRAYLANE_METADATA]: value } });
  const inbox = new Inbox<readonly NacosInstance[]>();
  watcher.naming.subscribe(service, inbox.push);
  await registrant.naming.registerInstance(lane('gray'));
  await inbox.until((hosts) => hosts.length === 1, 3000, 'the instance');
  await registrant.naming.registerInstance(lane('rc'));
  await new Promise((resolve) => setTimeout(resolve, 1500)); // longer than r-nacos' push delay
  const latest = inbox.items[inbox.items.length - 1];
  expect(latest?.[0]?.metadata[WireNames.GRAYLANE_METADATA]).toBe('gray');
  await Promise.all([registrant.close(), watcher.close()]);
});
