import type { RnacosNode } from './rnacos.cjs';

/** A Nacos test server's name. */
export type NacosServerKind = 'rnacos' | 'java';

/** Every Nacos server the Nacos suites run against. */
export declare const NACOS_SERVERS: readonly NacosServerKind[];
/** Human names, for test titles. */
export declare const LABELS: Readonly<Record<NacosServerKind, string>>;

/** One running test server; the same shape for r-nacos and the Java server. */
export interface NacosTestNode extends Omit<RnacosNode, 'host'> {
  readonly kind: NacosServerKind;
  readonly host: string;
  /** The credentials the server was started with (`startNacos(kind, { auth })`), if any. */
  readonly auth?: { readonly username: string; readonly password: string; readonly tokenTtlSeconds?: number } | undefined;
}

/** Starts one test server on free loopback ports with throw-away data. */
export declare function startNacos(
  server: NacosServerKind,
  options?: {
    env?: Record<string, string>;
    auth?: { username: string; password: string; tokenTtlSeconds?: number };
    properties?: Record<string, string>;
    log?: (line: string) => void;
  },
): Promise<NacosTestNode>;

/** Builds every missing test server in parallel; rejects naming each that cannot be had. */
export declare function prepareTestServers(options?: { log?: (line: string) => void }): Promise<void>;
