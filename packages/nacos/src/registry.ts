import { createInstance, registrationInstance } from '@graylane/core';
import type { Instance, InstanceRegistration, Registry } from '@graylane/core';
import { NacosNaming, isUnreachable } from './naming.js';
import type { NacosInstance } from './naming.js';
import { resolveOptions } from './options.js';
import type { NacosClientOptions } from './options.js';
import { NacosConnection } from './transport/connection.js';

/** Options of {@link createNacosRegistry}: the Nacos connection options. */
export type NacosRegistryOptions = NacosClientOptions;

/**
 * graylane's {@link Registry} on Nacos 2.x. `register` announces an ephemeral instance built by
 * core's `registrationInstance` (the one registration path of every registry: the lane from `lane`
 * or the metadata, carried under every key the fleet reads); a lane change is a re-registration. `subscribe` delivers the full list on every push, empty lists included.
 *
 * Nacos outages do not stop a service: when Nacos cannot be reached, `subscribe` delivers the list
 * of the failover cache (see {@link NacosClientOptions.cacheDir}), and `register` resolves after
 * `timeoutMs` with a warning, the registration queued and sent as soon as Nacos is back (a
 * registration Nacos refuses still rejects).
 */
export function createNacosRegistry(options: NacosRegistryOptions): Registry {
  const resolved = resolveOptions(options);
  const naming = new NacosNaming(new NacosConnection(resolved, 'naming'), resolved);
  return {
    kind: 'nacos',
    register: async (registration) => {
      // The same validation and lane (from `lane` or the metadata) as every other registry.
      const instance = registrationInstance(registration);
      try {
        await naming.registerInstance({
          serviceName: instance.service,
          ip: instance.host,
          port: instance.port,
          weight: instance.weight,
          metadata: instance.metadata,
        });
      } catch (error) {
        if (!isUnreachable(error)) throw error;
        resolved.logger.warn(`graylane: ${(error as Error).message}; ${describe(registration)} is registered as soon as Nacos is back`);
      }
    },
    deregister: (registration) =>
      naming.deregisterInstance({ serviceName: registration.service, ip: registration.host, port: registration.port }),
    subscribe: (service, listener) => naming.subscribe(service, (hosts) => listener(hosts.map((host) => toInstance(service, host)))),
    close: () => naming.close(),
  };
}

function describe(registration: InstanceRegistration): string {
  return `${registration.service} at ${registration.host}:${registration.port}`;
}

/** Maps a Nacos host to graylane's {@link Instance}: id `ip:port`, lane read from the metadata. */
export function toInstance(service: string, host: NacosInstance): Instance {
  return createInstance({
    service,
    host: host.ip,
    port: host.port,
    weight: host.weight,
    healthy: host.healthy,
    enabled: host.enabled,
    metadata: host.metadata,
  });
}
