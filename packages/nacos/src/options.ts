import { readFileSync } from 'node:fs';
import { homedir, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, GraylaneError } from '@graylane/core';
import type { Clock } from '@graylane/core';

/** The namespace the Java client and the Java server use when none is set. */
export const DEFAULT_NAMESPACE = 'public';

/** Where graylane's Nacos client reports what it cannot throw: lost connections, failed redo. */
export interface NacosLogger {
  warn(message: string): void;
}

/**
 * TLS settings of the gRPC connections and the HTTP login. PEM strings or Buffers; a value that
 * does not look like PEM (no `-----BEGIN`) is read as a file path.
 */
export interface NacosTlsOptions {
  /** CA certificate(s) the server's certificate must chain to; default: Node's trust store (the system roots). */
  readonly ca?: string | Buffer;
  /** Client certificate chain for mutual TLS; goes with `key`. */
  readonly cert?: string | Buffer;
  /** Client private key for mutual TLS; goes with `cert`. */
  readonly key?: string | Buffer;
  /**
   * The name the server's certificate must carry, and the SNI sent; default the host of
   * `serverAddr`. Set it when Nacos is addressed by IP or by a name its certificate does not hold.
   */
  readonly servername?: string;
  /** `false` accepts any certificate (encryption without authentication; never in production); default true. */
  readonly rejectUnauthorized?: boolean;
}

/** {@link NacosTlsOptions} resolved: files read, PEM as Buffers. */
export interface ResolvedTls {
  readonly ca: Buffer | undefined;
  readonly cert: Buffer | undefined;
  readonly key: Buffer | undefined;
  readonly servername: string | undefined;
  readonly rejectUnauthorized: boolean;
}

/** Options shared by {@link createNacosClient}, {@link createNacosRegistry} and {@link createNacosConfig}. */
export interface NacosClientOptions {
  /**
   * Nacos servers as `host:port` HTTP addresses, comma-separated (`127.0.0.1:8848,127.0.0.1:8850`);
   * `http://` / `https://` prefixes are accepted. gRPC is reached on the HTTP port + 1000, as every
   * Nacos 2.x client does. On a lost connection the client moves on to the next server.
   */
  readonly serverAddr: string;
  /**
   * Namespace id. Unset (or empty), graylane does what the official Java client does, so that Node
   * and Java services meet: naming uses `public`, and config uses tenant `''` (on Nacos 2.x an
   * explicit `public` tenant is another one than `''`; on 3.x both land in `public`). Set, the id is
   * used as given for both, as the Java client passes it: `public` set explicitly is tenant
   * `public` for config, which on Nacos 2.x is another tenant than `''`. Sending `''` for naming,
   * as graylane did before, files instances in a namespace of their own on the Java server, where
   * no Java service sees them. A set namespace other than `public` is checked against the server's
   * namespace list on connecting: one the server does not have fails with
   * `GRAYLANE_ERR_CONFIG_INVALID` (`details.path: 'namespace'`); when the list cannot be read, a
   * warning is logged and the client goes on.
   */
  readonly namespace?: string | undefined;
  /** Group of services and configs when a call names none; default `DEFAULT_GROUP`. */
  readonly group?: string;
  /**
   * With `password`, logs in over HTTP (`POST /nacos/v3/auth/user/login`, else
   * `/nacos/v1/auth/login`) on every new connection, sends the access token with every gRPC
   * request, refreshes it at 90 % of its lifetime and logs in again when a request is refused for
   * it. Refused credentials fail with `GRAYLANE_ERR_NACOS_AUTH` naming the server; default unset
   * (no login).
   */
  readonly username?: string;
  /** Goes with `username`; default unset. */
  readonly password?: string;
  /** Deadline of each request, waiting for a connection included; default 3000 ms. */
  readonly timeoutMs?: number;
  /**
   * TLS for the gRPC connections and the HTTP login: `true` verifies the server against the
   * system trust store, an object sets the CA, a client certificate, the expected server name;
   * default false (plain text).
   */
  readonly tls?: boolean | NacosTlsOptions;
  /** The IP this client reports in request metadata; default the first non-internal IPv4. */
  readonly clientIp?: string;
  /** Default: warnings go to `process.emitWarning`. */
  readonly logger?: NacosLogger;
  /**
   * Root folder of the failover cache, where the client keeps the last instance list of every
   * service it subscribes to and the last content of every config it reads, to answer from when
   * Nacos cannot be reached. Entries go to `<cacheDir>/<servers>/<namespace>/{naming,config}/`.
   * Default: `GRAYLANE_NACOS_CACHE_DIR` if set (`off` turns the cache off), else
   * `$XDG_CACHE_HOME/graylane/nacos` (`~/.cache/graylane/nacos`). `false` turns the cache off.
   */
  readonly cacheDir?: string | false;
  /**
   * How often watched configs are checked against the server (by md5), in case a change
   * notification was lost; default 60000 ms, 0 turns the check off.
   */
  readonly configSyncIntervalMs?: number;
}

/** One Nacos server: its HTTP address and the gRPC port next to it. */
export interface NacosServer {
  readonly host: string;
  readonly httpPort: number;
  readonly grpcPort: number;
}

/** {@link NacosClientOptions} with defaults applied and `serverAddr` parsed. */
export interface ResolvedOptions {
  readonly servers: readonly NacosServer[];
  /** The naming namespace: the option, else `public`. */
  readonly namespace: string;
  /** The config tenant: the option, else `''` (the Java client's default). */
  readonly tenant: string;
  readonly group: string;
  readonly credentials: { readonly username: string; readonly password: string } | undefined;
  readonly timeoutMs: number;
  /** `undefined`: plain text. */
  readonly tls: ResolvedTls | undefined;
  readonly clientIp: string;
  readonly logger: NacosLogger;
  /** This client's own cache folder (servers and namespace included), or `undefined` when off. */
  readonly cacheDir: string | undefined;
  readonly configSyncIntervalMs: number;
  /**
   * The clock of the retries of server-side state (config listeners, subscriptions, registrations).
   * Not a client option: `resolveOptions` leaves it unset (the real clock); tests set a fake one.
   */
  readonly clock?: Clock | undefined;
}

/** The group Nacos uses when none is given. */
export const DEFAULT_GROUP = 'DEFAULT_GROUP';
const GRPC_PORT_OFFSET = 1000;
const DEFAULT_TIMEOUT_MS = 3000;
const DEFAULT_CONFIG_SYNC_INTERVAL_MS = 60_000;
/** Environment variable naming the failover cache's root folder when the options do not; `off` turns it off. */
const CACHE_DIR_ENV = 'GRAYLANE_NACOS_CACHE_DIR';

function invalid(message: string): GraylaneError {
  return new GraylaneError(ErrorCode.CONFIG_INVALID, `Nacos options: ${message}`);
}

/** Parses `host:port[,host:port...]`; throws {@link ErrorCode.CONFIG_INVALID} with the bad entry. */
export function parseServerAddr(serverAddr: string): NacosServer[] {
  const servers = serverAddr
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      const address = entry.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
      const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(address);
      const port = Number(match?.[2]);
      if (!match || !(port > 0 && port + GRPC_PORT_OFFSET <= 65535)) {
        throw invalid(`serverAddr entry "${entry}" is not host:port (gRPC uses port + ${GRPC_PORT_OFFSET})`);
      }
      return { host: match[1]!, httpPort: port, grpcPort: port + GRPC_PORT_OFFSET };
    });
  if (servers.length === 0) throw invalid('serverAddr is empty; set it to host:port, e.g. 127.0.0.1:8848');
  return servers;
}

function defaultClientIp(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) return address.address;
    }
  }
  return '127.0.0.1';
}

const emitWarning: NacosLogger = { warn: (message) => process.emitWarning(message, 'GraylaneNacosWarning') };

/** Validates options and applies defaults; configuration errors fail here, at start-up. */
export function resolveOptions(options: NacosClientOptions): ResolvedOptions {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(timeoutMs > 0)) throw invalid(`timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`);
  const configSyncIntervalMs = options.configSyncIntervalMs ?? DEFAULT_CONFIG_SYNC_INTERVAL_MS;
  if (!(configSyncIntervalMs >= 0 && Number.isFinite(configSyncIntervalMs))) {
    throw invalid(`configSyncIntervalMs must be 0 (off) or a positive number of milliseconds, got ${configSyncIntervalMs}`);
  }
  if (options.cacheDir !== undefined && options.cacheDir !== false && (typeof options.cacheDir !== 'string' || options.cacheDir.trim() === '')) {
    throw invalid('cacheDir must be a folder path, or false to turn the failover cache off');
  }
  if ((options.username === undefined) !== (options.password === undefined)) {
    throw invalid('username and password go together: set both or neither');
  }
  const servers = parseServerAddr(options.serverAddr);
  const namespace = options.namespace || DEFAULT_NAMESPACE;
  const cacheRoot = cacheRootOf(options.cacheDir);
  return {
    servers,
    namespace,
    tenant: options.namespace || '',
    group: options.group || DEFAULT_GROUP,
    credentials:
      options.username === undefined ? undefined : { username: options.username, password: options.password ?? '' },
    timeoutMs,
    tls: resolveTls(options.tls),
    clientIp: options.clientIp ?? defaultClientIp(),
    logger: options.logger ?? emitWarning,
    cacheDir: cacheRoot === undefined ? undefined : join(cacheRoot, fileSafe(servers.map((s) => `${s.host}_${s.httpPort}`).join('+')), fileSafe(namespace)),
    configSyncIntervalMs,
  };
}

function resolveTls(option: boolean | NacosTlsOptions | undefined): ResolvedTls | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return { ca: undefined, cert: undefined, key: undefined, servername: undefined, rejectUnauthorized: true };
  if (typeof option !== 'object' || option === null) throw invalid('tls must be true, false or an object { ca, cert, key, servername, rejectUnauthorized }');
  if ((option.cert === undefined) !== (option.key === undefined)) {
    throw invalid('tls.cert and tls.key go together (a client certificate and its private key): set both or neither');
  }
  if (option.servername !== undefined && (typeof option.servername !== 'string' || option.servername.trim() === '')) {
    throw invalid('tls.servername must be a host name');
  }
  if (option.rejectUnauthorized !== undefined && typeof option.rejectUnauthorized !== 'boolean') {
    throw invalid('tls.rejectUnauthorized must be a boolean');
  }
  return {
    ca: pem(option.ca, 'tls.ca'),
    cert: pem(option.cert, 'tls.cert'),
    key: pem(option.key, 'tls.key'),
    servername: option.servername?.trim(),
    rejectUnauthorized: option.rejectUnauthorized ?? true,
  };
}

/** PEM content from a Buffer, a PEM string, or the path of a PEM file (read now, so a bad path fails at start-up). */
function pem(value: string | Buffer | undefined, name: string): Buffer | undefined {
  if (value === undefined) return undefined;
  if (Buffer.isBuffer(value)) return value;
  if (typeof value !== 'string' || value.trim() === '') throw invalid(`${name} must be PEM text, a Buffer, or the path of a PEM file`);
  if (value.includes('-----BEGIN')) return Buffer.from(value);
  try {
    return readFileSync(value);
  } catch (error) {
    throw invalid(`${name} is neither PEM text nor a readable file (${(error as Error).message})`);
  }
}

/** The failover cache's root folder from the option, the environment, or the XDG default; `undefined` when off. */
function cacheRootOf(option: string | false | undefined): string | undefined {
  if (option === false) return undefined;
  if (option !== undefined) return option;
  const fromEnv = process.env[CACHE_DIR_ENV]?.trim();
  if (fromEnv === 'off') return undefined;
  if (fromEnv) return fromEnv;
  return join(process.env['XDG_CACHE_HOME']?.trim() || join(homedir(), '.cache'), 'graylane', 'nacos');
}

/** A folder name from a server list or a namespace id: `[::1]:8848` → `__1__8848`. */
function fileSafe(name: string): string {
  return name.replace(/[^A-Za-z0-9._+-]/g, '_');
}
