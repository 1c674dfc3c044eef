// A three-node r-nacos raft cluster on loopback: changes registered on one node reach subscribers
// connected to another, and a client whose node dies moves to the next server in its list and
// restores its subscription there.
import type { Instance, Registry } from '@graylane/core';
import { startRnacosCluster } from '../../../scripts/nacos/rnacos.cjs';
import type { RnacosCluster } from '../../../scripts/nacos/rnacos.cjs';
import { createNacosRegistry } from '../src/index.js';
import { Inbox, collectingLogger, freshPort } from './rnacos.js';

let cluster: RnacosCluster | undefined;
const registries: Registry[] = [];

beforeAll(async () => {
  cluster = await startRnacosCluster(3, { log: (line) => process.stderr.write(`[rnacos] ${line}\n`) });
}, 30 * 60_000);

afterAll(async () => {
  await Promise.all(registries.map((registry) => registry.close()));
  await cluster?.stop();
});

function registry(serverAddr: string, logger = collectingLogger()): Registry {
  const created = createNacosRegistry({ serverAddr, clientIp: '127.0.0.1', logger });
  registries.push(created);
  return created;
}

const ports = (list: readonly Instance[]) => list.map((instance) => instance.port).sort();

it('propagates across nodes and fails over to the next server with the subscription restored', async () => {
  const [first, second, third] = cluster!.nodes;
  const service = `cluster-${process.pid}`;
  const registrant = registry(first!.serverAddr);
  const watcherLog = collectingLogger();
  const watched = new Inbox<readonly Instance[]>();
  registry(`${third!.serverAddr},${second!.serverAddr}`, watcherLog).subscribe(service, watched.push);

  const gray = freshPort();
  await registrant.register({ service, host: '127.0.0.1', port: gray, lane: 'gray' });
  const [instance] = await watched.until((list) => list.length === 1, 5000, 'the instance, registered on another node');
  expect(instance).toMatchObject({ port: gray, lane: 'gray' });

  await third!.kill('SIGKILL');
  const base = freshPort();
  await registrant.register({ service, host: '127.0.0.1', port: base });
  await watched.until((list) => ports(list).join() === [gray, base].sort().join(), 10_000, 'both instances, after failover');
  expect(watcherLog.messages.join('\n')).toContain(`connection to ${second!.serverAddr} established`);
}, 30_000);
