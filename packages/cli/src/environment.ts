import { join, resolve } from 'node:path';
import type { NacosClientOptions } from '@graylane/nacos';
import type { Context } from './command.js';

/**
 * The registry the environment names, read as applications read it (`registryFromEnv` in
 * @graylane/node, docs/reference/configuration.md): Nacos when `NACOS_SERVER_ADDR` is set, else
 * the file registry in `GRAYLANE_REGISTRY_DIR` (default: the per-user folder of `defaultFileRegistryDir` in @graylane/registry, shared by every process of the user).
 */
export type RegistryTarget =
  | { readonly kind: 'nacos'; readonly options: NacosClientOptions }
  | { readonly kind: 'file'; readonly dir: string };

/** See {@link RegistryTarget}. */
export async function registryTarget(context: Context): Promise<RegistryTarget> {
  const options = await nacosOptions(context);
  if (options) return { kind: 'nacos', options };
  const dir = context.env['GRAYLANE_REGISTRY_DIR']?.trim();
  return { kind: 'file', dir: dir ? resolve(context.cwd, dir) : join(context.cwd, '.graylane', 'registry') };
}

/**
 * Nacos connection options as applications read them (`nacosOptionsFromEnv` of
 * @graylane/node: server, namespace, group, credentials, `NACOS_TLS*`; relative PEM paths from the
 * command's directory); `undefined` when `NACOS_SERVER_ADDR` is not set. Client warnings are
 * printed as `graylane: warning: ...`.
 *
 * @throws GraylaneError `GRAYLANE_ERR_CONFIG_INVALID` when the variables do not fit together.
 */
export async function nacosOptions(context: Context): Promise<NacosClientOptions | undefined> {
  if (!context.env['NACOS_SERVER_ADDR']?.trim()) return undefined;
  // Loaded on demand: @graylane/node brings the Nacos client (gRPC) along, which commands without Nacos do not need.
  const { nacosOptionsFromEnv } = await import('@graylane/node');
  const options = nacosOptionsFromEnv(context.env, { cwd: context.cwd });
  if (!options) return undefined;
  return { ...options, logger: { warn: (message) => context.err(`graylane: warning: ${message.replace(/^graylane: /, '')}`) } };
}
