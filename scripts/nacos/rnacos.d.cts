/** The r-nacos release graylane builds and tests against. */
export declare const RNACOS_VERSION: string;

/** Receives one human-readable progress line. */
export type RnacosLog = (line: string) => void;

/** One running r-nacos process. */
export interface RnacosNode {
  readonly host: '127.0.0.1';
  readonly httpPort: number;
  /** Always `httpPort + 1000`, as Nacos 2.x clients expect. */
  readonly grpcPort: number;
  /** `127.0.0.1:<httpPort>`, the value of `NACOS_SERVER_ADDR`. */
  readonly serverAddr: string;
  readonly dataDir: string;
  /** Stops the process and deletes its data. */
  stop(): Promise<void>;
  /** Sends a signal (default SIGKILL) and resolves once the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Stops and starts again on the same ports and data directory; resolves once healthy. */
  restart(): Promise<void>;
  /** The last lines r-nacos wrote to stderr. */
  stderrTail(): string;
}

/** A raft cluster of r-nacos nodes on loopback. */
export interface RnacosCluster {
  readonly nodes: readonly RnacosNode[];
  /** Every node's HTTP address, comma-separated. */
  readonly serverAddr: string;
  stop(): Promise<void>;
}

/** Path of the r-nacos binary: `GRAYLANE_RNACOS_BIN`, else the cached build (which may not exist yet). */
export declare function rnacosBinary(): string;

/** Builds r-nacos with `cargo install --locked` when the cached binary is missing; returns its path. */
export declare function ensureRnacos(options?: { log?: RnacosLog }): Promise<string>;

/** Starts r-nacos on free loopback ports (or `httpPort`) with a throw-away data directory. */
export declare function startRnacos(options?: {
  httpPort?: number;
  env?: Record<string, string>;
  log?: RnacosLog;
}): Promise<RnacosNode>;

/** Starts a raft cluster of `size` r-nacos nodes on loopback. */
export declare function startRnacosCluster(
  size?: number,
  options?: { env?: Record<string, string>; log?: RnacosLog },
): Promise<RnacosCluster>;
