import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { diag } from '@opentelemetry/api';
import { ErrorCode, GraylaneError } from '@graylane/core';
import type { Registry } from '@graylane/core';
import { createFileRegistry } from '@graylane/registry';
import type { NacosClientOptions, NacosTlsOptions } from '@graylane/nacos';
import { lazyRegistry, loadNacos } from './lazy.js';

/** Environment variables that choose the registry; see docs/reference/configuration.md. */
export const RegistryEnv = {
  /** `host:port[,host:port...]` of a Nacos server or cluster. When set, Nacos is used. */
  NACOS_SERVER_ADDR: 'NACOS_SERVER_ADDR',
  /** Nacos namespace id, used as given for naming and config; unset: naming in `public`, config in tenant `''` (the Java client's defaults). */
  NACOS_NAMESPACE: 'NACOS_NAMESPACE',
  /** Nacos group. Default `DEFAULT_GROUP`. */
  NACOS_GROUP: 'NACOS_GROUP',
  NACOS_USERNAME: 'NACOS_USERNAME',
  NACOS_PASSWORD: 'NACOS_PASSWORD',
  /** `true` or `1`: connect to Nacos over TLS (gRPC on the TLS port). Default off. */
  NACOS_TLS: 'NACOS_TLS',
  /** Path of a PEM file of the CA(s) that signed the server's certificate; default the system roots. Needs `NACOS_TLS`. */
  NACOS_TLS_CA: 'NACOS_TLS_CA',
  /** The name the server's certificate must hold (and the SNI sent); default the host of `NACOS_SERVER_ADDR`. Needs `NACOS_TLS`. */
  NACOS_TLS_SERVERNAME: 'NACOS_TLS_SERVERNAME',
  /** Path of the PEM client certificate for mutual TLS; goes with `NACOS_TLS_KEY`. Needs `NACOS_TLS`. */
  NACOS_TLS_CERT: 'NACOS_TLS_CERT',
  /** Path of the PEM private key of `NACOS_TLS_CERT`. Needs `NACOS_TLS`. */
  NACOS_TLS_KEY: 'NACOS_TLS_KEY',
  /**
   * Directory of the file registry. Default the user's own folder, the same for all their processes
   * (`$XDG_RUNTIME_DIR/graylane/registry`, else `<os.tmpdir()>/graylane-<uid>/registry`; see
   * `defaultFileRegistryDir` in @graylane/registry).
   */
  GRAYLANE_REGISTRY_DIR: 'GRAYLANE_REGISTRY_DIR',
} as const;

/**
 * The registry the environment asks for: Nacos when `NACOS_SERVER_ADDR` is set (connection options
 * as {@link nacosOptionsFromEnv} reads them, TLS included), otherwise the embedded file registry
 * (no server needed) in `GRAYLANE_REGISTRY_DIR`, by default in a folder of the user's shared by all
 * their processes whatever their working directory (`defaultFileRegistryDir` of @graylane/registry).
 *
 * The Nacos registry is made on first use, when `@graylane/nacos` (gRPC, protobufjs) is loaded: a
 * process on the file registry never loads it. An option only the Nacos client checks (a malformed
 * `NACOS_SERVER_ADDR`) rejects that first use, and `startGraylane`, with `GRAYLANE_ERR_CONFIG_INVALID`.
 *
 * @throws GraylaneError `GRAYLANE_ERR_CONFIG_INVALID` when the Nacos variables do not fit together.
 */
export function registryFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): Registry {
  const nacos = nacosOptionsFromEnv(env);
  // @graylane/nacos (gRPC, protobufjs) is loaded only here, on first use of the registry.
  if (nacos) return lazyRegistry('nacos', async () => (await loadNacos()).createNacosRegistry(nacos));
  const dir = env[RegistryEnv.GRAYLANE_REGISTRY_DIR]?.trim();
  // Files the registry skips (a FIFO named *.json, a directory, junk) are reported through diag.
  const onDiagnostic = (message: string): void => diag.warn(message);
  return createFileRegistry(dir ? { dir, onDiagnostic } : { onDiagnostic });
}

/** Options of {@link nacosOptionsFromEnv}. */
export interface NacosEnvOptions {
  /** The directory relative file paths (`NACOS_TLS_CA`, `NACOS_TLS_CERT`, `NACOS_TLS_KEY`) are resolved from; default `process.cwd()`. */
  readonly cwd?: string;
}

/**
 * The Nacos client options the environment names, read the way {@link registryFromEnv} and
 * `rulesFromEnv` read them (docs/reference/configuration.md): `NACOS_SERVER_ADDR`,
 * `NACOS_NAMESPACE`, `NACOS_GROUP`, `NACOS_USERNAME` and `NACOS_PASSWORD` (together), and TLS from
 * `NACOS_TLS` (`true`/`1`) with `NACOS_TLS_CA`, `NACOS_TLS_SERVERNAME` and `NACOS_TLS_CERT` +
 * `NACOS_TLS_KEY` (PEM file paths, read now). Returns `undefined` when `NACOS_SERVER_ADDR` is unset;
 * add your own `logger` or other options to the result.
 *
 * @throws GraylaneError `GRAYLANE_ERR_CONFIG_INVALID`, naming the variables, when the credentials or
 *   the client certificate and key are not set together, `NACOS_TLS` is not a boolean, a TLS
 *   variable is set without `NACOS_TLS`, or a PEM file cannot be read.
 * @experimental
 */
export function nacosOptionsFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
  options: NacosEnvOptions = {},
): NacosClientOptions | undefined {
  const serverAddr = env[RegistryEnv.NACOS_SERVER_ADDR]?.trim();
  if (!serverAddr) return undefined;
  const username = env[RegistryEnv.NACOS_USERNAME];
  const password = env[RegistryEnv.NACOS_PASSWORD];
  if ((username === undefined) !== (password === undefined)) {
    throw invalid('NACOS_USERNAME and NACOS_PASSWORD must be set together', [RegistryEnv.NACOS_USERNAME, RegistryEnv.NACOS_PASSWORD]);
  }
  const tls = tlsFromEnv(env, options.cwd ?? process.cwd());
  return {
    serverAddr,
    ...(env[RegistryEnv.NACOS_NAMESPACE] ? { namespace: env[RegistryEnv.NACOS_NAMESPACE] } : {}),
    ...(env[RegistryEnv.NACOS_GROUP] ? { group: env[RegistryEnv.NACOS_GROUP] } : {}),
    ...(username !== undefined && password !== undefined ? { username, password } : {}),
    ...(tls ? { tls } : {}),
  };
}

const TLS_FILES = [RegistryEnv.NACOS_TLS_CA, RegistryEnv.NACOS_TLS_CERT, RegistryEnv.NACOS_TLS_KEY] as const;
const TLS_SETTINGS = [...TLS_FILES, RegistryEnv.NACOS_TLS_SERVERNAME] as const;

/** The `tls` client option from `NACOS_TLS*`; `undefined` when TLS is off. Empty variables count as unset. */
function tlsFromEnv(env: Readonly<Record<string, string | undefined>>, cwd: string): NacosTlsOptions | true | undefined {
  const value = (name: string) => env[name]?.trim() || undefined;
  const flag = value(RegistryEnv.NACOS_TLS)?.toLowerCase();
  if (flag !== undefined && !['true', '1', 'false', '0'].includes(flag)) {
    throw invalid(`NACOS_TLS must be true, 1, false or 0 (got "${env[RegistryEnv.NACOS_TLS]}")`, [RegistryEnv.NACOS_TLS]);
  }
  const on = flag === 'true' || flag === '1';
  const settings = TLS_SETTINGS.filter((name) => value(name) !== undefined);
  if (!on) {
    // A CA or client certificate given without NACOS_TLS would otherwise be ignored and the connection plain text.
    if (settings.length > 0) {
      throw invalid(`${settings.join(', ')} set without NACOS_TLS=true: set NACOS_TLS=true to connect with TLS, or unset them`, [
        RegistryEnv.NACOS_TLS,
        ...settings,
      ]);
    }
    return undefined;
  }
  if ((value(RegistryEnv.NACOS_TLS_CERT) === undefined) !== (value(RegistryEnv.NACOS_TLS_KEY) === undefined)) {
    throw invalid('NACOS_TLS_CERT and NACOS_TLS_KEY must be set together (a client certificate and its private key)', [
      RegistryEnv.NACOS_TLS_CERT,
      RegistryEnv.NACOS_TLS_KEY,
    ]);
  }
  if (settings.length === 0) return true;
  const read = (name: (typeof TLS_FILES)[number]): Buffer | undefined => {
    const path = value(name);
    if (path === undefined) return undefined;
    try {
      return readFileSync(resolve(cwd, path));
    } catch (error) {
      throw invalid(`${name}: cannot read the PEM file ${path} (${(error as Error).message})`, [name], error);
    }
  };
  const ca = read(RegistryEnv.NACOS_TLS_CA);
  const cert = read(RegistryEnv.NACOS_TLS_CERT);
  const key = read(RegistryEnv.NACOS_TLS_KEY);
  const servername = value(RegistryEnv.NACOS_TLS_SERVERNAME);
  return {
    ...(ca ? { ca } : {}),
    ...(cert && key ? { cert, key } : {}),
    ...(servername ? { servername } : {}),
  };
}

function invalid(message: string, variables: readonly string[], cause?: unknown): GraylaneError {
  return new GraylaneError(ErrorCode.CONFIG_INVALID, message, { details: { variables }, ...(cause === undefined ? {} : { cause }) });
}
