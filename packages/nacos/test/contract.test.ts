// The registry contract suite (packages/registry/test/contract.ts), run unchanged over Nacos: one
// client watches, another registers, as two processes would.
import { describeRegistryContract } from '../../registry/test/contract.js';
import { createNacosRegistry } from '../src/index.js';
import { collectingLogger, useRnacos } from './rnacos.js';

const nacos = useRnacos();

describeRegistryContract('nacos', async () => {
  const options = { serverAddr: nacos.serverAddr, clientIp: '127.0.0.1', logger: collectingLogger() };
  const registry = createNacosRegistry(options);
  const registrant = createNacosRegistry(options);
  return {
    registry,
    registrant,
    cleanup: async () => {
      await Promise.all([registry.close(), registrant.close()]);
    },
  };
});
