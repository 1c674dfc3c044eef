import { join, resolve } from 'node:path';
import type { NacosClientOptions } from '@graylane/nacos';
import type { Context } from './command.js';

/**
 * The registry the environment names, read as applications read it (`registryFromEnv` in
 * @graylane/node, docs/reference/configuration.md): Nacos when `NACOS_SERVER_ADDR` is set, else
 * the file registry in `GRAYLANE_REGISTRY_DIR` (default `.graylane/registry`).
 */
export type RegistryTarget =
  | { readonly kind: 'nacos'; readonly options: NacosClientOptions }
  | { readonly kind: 'file'; readonly dir: string };

/** See {@link RegistryTarget}. */
export function registryTarget(context: Context): RegistryTarget {
  const options = nacosOptions(context);
  if (options) return { kind: 'nacos', options };
  const dir = context.env['GRAYLANE_REGISTRY_DIR']?.trim();
  return { kind: 'file', dir: dir ? resolve(context.cwd, dir) : join(context.cwd, '.graylane', 'registry') };
}

/**
 * Nacos connection options from `NACOS_SERVER_ADDR`, `NACOS_NAMESPACE`, `NACOS_GROUP`,
 * `NACOS_USERNAME` and `NACOS_PASSWORD`; `undefined` when `NACOS_SERVER_ADDR` is not set. Client
 * warnings are printed as `graylane: warning: ...`.
 */
export function nacosOptions(context: Context): NacosClientOptions | undefined {
  const { env } = context;
  const serverAddr = env['NACOS_SERVER_ADDR']?.trim();
  if (!serverAddr) return undefined;
  const namespace = env['NACOS_NAMESPACE'] || undefined;
  const group = env['NACOS_GROUP'] || undefined;
  const username = env['NACOS_USERNAME'];
  const password = env['NACOS_PASSWORD'];
  return {
    serverAddr,
    ...(namespace === undefined ? {} : { namespace }),
    ...(group === undefined ? {} : { group }),
    // Given alone, either one is refused by the client with GRAYLANE_ERR_CONFIG_INVALID.
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    logger: { warn: (message) => context.err(`graylane: warning: ${message.replace(/^graylane: /, '')}`) },
  };
}
