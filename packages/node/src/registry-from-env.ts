import { join } from 'node:path';
import { ErrorCode, GraylaneError } from '@graylane/core';
import type { Registry } from '@graylane/core';
import { createFileRegistry } from '@graylane/registry';
import { createNacosRegistry } from '@graylane/nacos';
import type { NacosClientOptions } from '@graylane/nacos';

/** Environment variables that choose the registry; see docs/reference/configuration.md. */
export const RegistryEnv = {
  /** `host:port[,host:port...]` of a Nacos server or cluster. When set, Nacos is used. */
  NACOS_SERVER_ADDR: 'NACOS_SERVER_ADDR',
  /** Nacos namespace (tenant) id. */
  NACOS_NAMESPACE: 'NACOS_NAMESPACE',
  /** Nacos group. Default `DEFAULT_GROUP`. */
  NACOS_GROUP: 'NACOS_GROUP',
  NACOS_USERNAME: 'NACOS_USERNAME',
  NACOS_PASSWORD: 'NACOS_PASSWORD',
  /** Directory of the file registry. Default `.graylane/registry` under the working directory. */
  GRAYLANE_REGISTRY_DIR: 'GRAYLANE_REGISTRY_DIR',
} as const;

/**
 * The registry the environment asks for: Nacos when `NACOS_SERVER_ADDR` is set, otherwise the
 * embedded file registry (no server needed) in `GRAYLANE_REGISTRY_DIR`.
 */
export function registryFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): Registry {
  const nacos = nacosOptionsFromEnv(env);
  if (nacos) return createNacosRegistry(nacos);
  const dir = env[RegistryEnv.GRAYLANE_REGISTRY_DIR]?.trim() || join(process.cwd(), '.graylane', 'registry');
  return createFileRegistry({ dir });
}

/**
 * The Nacos client options in the environment (`NACOS_SERVER_ADDR`, `NACOS_NAMESPACE`,
 * `NACOS_GROUP`, `NACOS_USERNAME`, `NACOS_PASSWORD`), or `undefined` when `NACOS_SERVER_ADDR` is unset.
 *
 * @internal Shared by {@link registryFromEnv} and `rulesFromEnv`.
 */
export function nacosOptionsFromEnv(env: Readonly<Record<string, string | undefined>>): NacosClientOptions | undefined {
  const serverAddr = env[RegistryEnv.NACOS_SERVER_ADDR]?.trim();
  if (!serverAddr) return undefined;
  const username = env[RegistryEnv.NACOS_USERNAME];
  const password = env[RegistryEnv.NACOS_PASSWORD];
  if ((username === undefined) !== (password === undefined)) {
    throw new GraylaneError(ErrorCode.CONFIG_INVALID, 'NACOS_USERNAME and NACOS_PASSWORD must be set together', {
      details: { variables: [RegistryEnv.NACOS_USERNAME, RegistryEnv.NACOS_PASSWORD] },
    });
  }
  return {
    serverAddr,
    ...(env[RegistryEnv.NACOS_NAMESPACE] ? { namespace: env[RegistryEnv.NACOS_NAMESPACE] } : {}),
    ...(env[RegistryEnv.NACOS_GROUP] ? { group: env[RegistryEnv.NACOS_GROUP] } : {}),
    ...(username !== undefined && password !== undefined ? { username, password } : {}),
  };
}
