/** An address a service can be reached at, as a registry reports it. */
export interface Instance {
  /** Unique within its service; `host:port` unless the registry has its own id. */
  readonly id: string;
  /** The service name callers use. */
  readonly service: string;
  readonly host: string;
  readonly port: number;
  /** The instance's lane; `undefined` for a base instance. */
  readonly lane: string | undefined;
  /** Relative share of traffic among the instances picked for a request (default 1). */
  readonly weight: number;
  /** False when the registry reports the instance unhealthy; it is never selected. */
  readonly healthy: boolean;
  /** False when the instance is taken out of rotation by an operator; it is never selected. */
  readonly enabled: boolean;
  /** Registry metadata, string values only. */
  readonly metadata: Readonly<Record<string, string>>;
}

/** What a process announces about itself when it registers. */
export interface InstanceRegistration {
  readonly service: string;
  readonly host: string;
  readonly port: number;
  /** The lane this instance serves; `undefined` for base. */
  readonly lane?: string | undefined;
  readonly weight?: number;
  /** Extra metadata; graylane adds the lane keys of {@link laneMetadata}. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Called with the full, current instance list of a service, empty lists included. */
export type InstancesListener = (instances: readonly Instance[]) => void;

/**
 * A service registry as graylane sees it: a place to announce instances and to watch a service's
 * instance list. The embedded registries (@graylane/registry) and Nacos (@graylane/nacos) implement it;
 * a contract suite runs unchanged over every implementation.
 */
export interface Registry {
  /** A short name for logs (`memory`, `file`, `nacos`). */
  readonly kind: string;
  /** Announces an instance; resolves once the registry has accepted it. */
  register(registration: InstanceRegistration): Promise<void>;
  /** Withdraws an instance; resolves once the registry has accepted it. Unknown instances are a no-op. */
  deregister(registration: InstanceRegistration): Promise<void>;
  /**
   * Watches a service. The listener receives the full list on every change, including an empty list
   * when the last instance goes, and is called soon after subscribing with the current list.
   * Returns a function that stops the subscription.
   */
  subscribe(service: string, listener: InstancesListener): () => void;
  /** Releases connections, watchers and timers. Registrations are not withdrawn: call deregister first. */
  close(): Promise<void>;
}
