/** One running Java hop (test/java-service). */
export interface JavaServiceProcess {
  readonly service: string;
  readonly lane: string;
  /** `127.0.0.1:<port>` it serves on. */
  readonly address: string;
  stop(signal?: NodeJS.Signals): Promise<void>;
  output(): string;
}

export declare function ensureJavaService(options?: { log?: (line: string) => void }): Promise<string>;

/** Starts a Java hop registered in Nacos at `serverAddr`; resolves once it has registered. */
export declare function startJavaService(options: {
  service: string;
  next?: string;
  lane?: string;
  serverAddr: string;
  env?: Record<string, string>;
  log?: (line: string) => void;
}): Promise<JavaServiceProcess>;
