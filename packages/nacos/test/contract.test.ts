// The registry contract suite (@graylane/testing, packages/testing/src/registry-contract.ts), run unchanged over Nacos on
// every test server (r-nacos and the Java Nacos server): one client watches, another registers, as
// two processes would. No namespace is set, as most users set none.
import { describeRegistryContract } from '@graylane/testing';
import { createNacosRegistry } from '../src/index.js';
import { collectingLogger } from './rnacos.js';
import { nacosServers, useNacosServer } from './servers.js';

describe.each(nacosServers)('on %s', (label, kind) => {
  const nacos = useNacosServer(kind);

  describeRegistryContract(`nacos (${label})`, async () => {
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
});
