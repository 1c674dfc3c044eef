import { NacosConfig } from './config.js';
import { NacosNaming } from './naming.js';
import { resolveOptions } from './options.js';
import type { NacosClientOptions } from './options.js';
import { NacosConnection } from './transport/connection.js';

/** A Nacos 2.x client: naming and config, each on its own gRPC connection, opened on first use. */
export interface NacosClient {
  readonly naming: NacosNaming;
  readonly config: NacosConfig;
  /** Closes both connections. Registrations are ephemeral and go with them. */
  close(): Promise<void>;
}

/** Creates a {@link NacosClient}; options are validated here, connections open on first use. */
export function createNacosClient(options: NacosClientOptions): NacosClient {
  const resolved = resolveOptions(options);
  const naming = new NacosNaming(new NacosConnection(resolved, 'naming'), resolved);
  const config = new NacosConfig(new NacosConnection(resolved, 'config'), resolved);
  return {
    naming,
    config,
    close: async () => {
      await Promise.all([naming.close(), config.close()]);
    },
  };
}

/** Creates a config-only client (one gRPC connection): `get`, `publish`, `remove`, `watch`, `close`. */
export function createNacosConfig(options: NacosClientOptions): NacosConfig {
  const resolved = resolveOptions(options);
  return new NacosConfig(new NacosConnection(resolved, 'config'), resolved);
}

/** Creates a naming-only client (one gRPC connection). */
export function createNacosNaming(options: NacosClientOptions): NacosNaming {
  const resolved = resolveOptions(options);
  return new NacosNaming(new NacosConnection(resolved, 'naming'), resolved);
}
