import { ErrorCode, GraylaneError, isGraylaneError } from '@graylane/core';
import { FAILOVER_WAIT_MS, FailoverCache } from './cache.js';
import type { ResolvedOptions } from './options.js';
import type { Body } from './proto.js';
import { Backoff } from './retry.js';
import type { NacosConnection, Send } from './transport/connection.js';
import { bool, list, num, obj, str, strMap } from './wire.js';

/** An instance as Nacos reports it in a service's host list. */
export interface NacosInstance {
  readonly instanceId: string;
  readonly ip: string;
  readonly port: number;
  readonly weight: number;
  readonly healthy: boolean;
  readonly enabled: boolean;
  readonly ephemeral: boolean;
  readonly clusterName: string;
  /** The service name without its group prefix. */
  readonly serviceName: string;
  readonly metadata: Readonly<Record<string, string>>;
}

/** What {@link NacosNaming.registerInstance} announces. Registrations are ephemeral: they live with the connection. */
export interface NacosInstanceRegistration {
  readonly serviceName: string;
  /** Default: the client's group (`DEFAULT_GROUP`). */
  readonly groupName?: string;
  readonly ip: string;
  readonly port: number;
  /** Default 1. */
  readonly weight?: number;
  /** Default true. */
  readonly healthy?: boolean;
  /** Default true. */
  readonly enabled?: boolean;
  /** Default `DEFAULT`. */
  readonly clusterName?: string;
  /** String values only: Nacos drops metadata holding anything else. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Identifies a registered instance for {@link NacosNaming.deregisterInstance}. */
export type NacosInstanceKey = Pick<NacosInstanceRegistration, 'serviceName' | 'groupName' | 'ip' | 'port' | 'clusterName'>;

/** Receives a service's full host list: first the current one, then after every change, empty lists included. */
export type NacosServiceListener = (hosts: readonly NacosInstance[]) => void;

const DEFAULT_CLUSTER = 'DEFAULT';

interface Registration {
  readonly key: string;
  /** `group@@service`: the registrations of one service go out together (see {@link NacosNaming.register}). */
  readonly service: string;
  readonly groupName: string;
  readonly serviceName: string;
  /** The instance as Nacos' `Instance` message. */
  readonly instance: Body;
  /** The connection the server last accepted this registration on. */
  sentOn: Send | undefined;
  /** Sends the registration again after it failed on a live connection, with backoff. */
  retry: Backoff;
}

interface Subscription {
  readonly serviceName: string;
  readonly groupName: string;
  readonly listeners: Set<NacosServiceListener>;
  hosts: readonly NacosInstance[] | undefined;
  signature: string;
  /** `hosts` came from the failover cache: the server has not answered since this client started. */
  cached: boolean;
  lastRefTime: number;
  /** The connection the server last accepted this subscription on. */
  sentOn: Send | undefined;
  /** Subscribes again after a failure, with backoff. */
  retry: Backoff;
}

/**
 * Nacos naming over gRPC: ephemeral registrations and push subscriptions. Registrations and
 * subscriptions are remembered and restored on every new connection; subscribers keep the last
 * list they received while the connection is down. A subscribe or register request that fails on
 * a live connection (a timeout, an error response), or while restoring them on a new connection,
 * is retried with a jittered backoff (0.5 s doubling to 30 s) for as long as the subscription or
 * registration exists, so neither is silently lost until the next reconnect. Every list received
 * is saved in the failover cache, and a subscriber that gets no list because Nacos cannot be
 * reached gets the saved one.
 */
export class NacosNaming {
  readonly #connection: NacosConnection;
  readonly #options: ResolvedOptions;
  readonly #registrations = new Map<string, Registration>();
  readonly #subscriptions = new Map<string, Subscription>();
  readonly #cache: FailoverCache | undefined;
  #closed = false;

  /** @internal Use {@link createNacosClient}. */
  constructor(connection: NacosConnection, options: ResolvedOptions) {
    this.#connection = connection;
    this.#options = options;
    this.#cache = options.cacheDir === undefined ? undefined : new FailoverCache(options.cacheDir, options.logger);
    connection.onPush('NotifySubscriberRequest', (body) => this.#onNotify(body));
    connection.onConnect((send) => this.#restore(send));
  }

  /**
   * Closes the naming connection; watches stop and registrations go with the connection. Resolves
   * once the failover cache is written.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const subscription of this.#subscriptions.values()) subscription.retry.cancel();
    for (const entry of this.#registrations.values()) entry.retry.cancel();
    this.#subscriptions.clear();
    await Promise.all([this.#connection.close(), this.#cache?.flush()]);
  }

  /**
   * Registers (or re-registers, e.g. with a new lane in its metadata) an ephemeral instance and
   * resolves once Nacos has accepted it. If Nacos cannot be reached or does not answer in time the
   * promise rejects (`GRAYLANE_ERR_NACOS` or `GRAYLANE_ERR_NACOS_TIMEOUT`) but the registration is
   * kept: sent when the connection comes back, or, when the request failed on a live connection,
   * sent again with backoff until Nacos accepts it. Call {@link deregisterInstance} to withdraw it.
   * A registration Nacos refuses is forgotten.
   */
  async registerInstance(registration: NacosInstanceRegistration): Promise<void> {
    assertRegistration(registration);
    const groupName = registration.groupName || this.#options.group;
    const key = instanceKey(registration, groupName);
    const entry: Registration = {
      key,
      service: serviceKey(groupName, registration.serviceName),
      groupName,
      serviceName: registration.serviceName,
      instance: {
        instanceId: '',
        ip: registration.ip,
        port: registration.port,
        weight: registration.weight ?? 1,
        healthy: registration.healthy ?? true,
        enabled: registration.enabled ?? true,
        ephemeral: true,
        clusterName: registration.clusterName || DEFAULT_CLUSTER,
        serviceName: registration.serviceName,
        metadata: { ...registration.metadata },
      },
      sentOn: undefined,
      retry: new Backoff(() => void this.#reregister(entry), this.#options.clock),
    };
    this.#registrations.get(key)?.retry.cancel();
    this.#registrations.set(key, entry);
    // When no connection becomes ready in time, the restore of the next connection sends it.
    const send = await this.#connection.ready();
    // Sent while we waited, by the restore of a new connection; or superseded by a later call.
    if (entry.sentOn === send || this.#registrations.get(key) !== entry) return;
    try {
      await this.#register(send, entry);
    } catch (error) {
      if (isRejection(error)) {
        if (this.#registrations.get(key) === entry) this.#registrations.delete(key);
      } else if (!this.#closed && this.#registrations.get(key) === entry && !(isGraylaneError(error) && error.code === ErrorCode.CLOSED)) {
        // A timeout on a live connection: nothing else would send it before a reconnect. The
        // rejection tells the caller; the retries warn only if they fail too.
        entry.retry.schedule();
      }
      throw error;
    }
  }

  /** Sends a kept registration again, unless the current connection already has it; backs off on failure. */
  async #reregister(entry: Registration): Promise<void> {
    if (this.#closed || this.#registrations.get(entry.key) !== entry) return;
    try {
      const send = await this.#connection.ready();
      if (entry.sentOn !== send && this.#registrations.get(entry.key) === entry) await this.#register(send, entry);
      const failures = entry.retry.succeeded();
      if (failures > 0) this.#options.logger.warn(`graylane: registered Nacos instance ${entry.key} after ${failures} failed attempt(s)`);
    } catch (error) {
      if (this.#closed || this.#registrations.get(entry.key) !== entry || (isGraylaneError(error) && error.code === ErrorCode.CLOSED)) return;
      // The first failure was reported by the rejected registerInstance or the connection's restore.
      if (entry.retry.failures === 1) {
        this.#options.logger.warn(`graylane: registering Nacos instance ${entry.key} failed again (${(error as Error).message}); retrying with backoff`);
      }
      entry.retry.schedule();
    }
  }

  /**
   * Deregisters an instance and resolves once Nacos has accepted it; unknown instances are a no-op.
   * Other instances this client registered for the same service are announced again, since the
   * Java server drops a connection's whole registration of a service on a deregister.
   */
  async deregisterInstance(instance: NacosInstanceKey): Promise<void> {
    const groupName = instance.groupName || this.#options.group;
    const key = instanceKey(instance, groupName);
    this.#registrations.get(key)?.retry.cancel();
    this.#registrations.delete(key);
    const remaining = this.#siblings(serviceKey(groupName, instance.serviceName));
    await this.#connection.request('InstanceRequest', {
      namespace: this.#options.namespace,
      serviceName: instance.serviceName,
      groupName,
      type: 'deregisterInstance',
      instance: {
        ip: instance.ip,
        port: instance.port,
        weight: 1,
        healthy: true,
        enabled: true,
        ephemeral: true,
        clusterName: instance.clusterName || DEFAULT_CLUSTER,
        serviceName: instance.serviceName,
        metadata: {},
      },
    });
    if (remaining[0]) await this.#register(await this.#connection.ready(), remaining[0]);
  }

  /**
   * Watches a service's host list. The listener gets the current list soon after subscribing, then
   * the full list after every change, including an empty list when the last instance goes.
   * Returns a function that stops this listener.
   *
   * When Nacos cannot be reached and the failover cache holds a list for the service, the listener
   * gets that list instead, within about a second (at once when connecting has already failed),
   * and a warning says it is stale; the server's list replaces it when Nacos is back.
   */
  subscribe(serviceName: string, listener: NacosServiceListener, options: { groupName?: string } = {}): () => void {
    const groupName = options.groupName || this.#options.group;
    const key = serviceKey(groupName, serviceName);
    let subscription = this.#subscriptions.get(key);
    if (!subscription) {
      const created: Subscription = {
        serviceName,
        groupName,
        listeners: new Set(),
        hosts: undefined,
        signature: '',
        cached: false,
        lastRefTime: 0,
        sentOn: undefined,
        retry: new Backoff(() => void this.#subscribe(created), this.#options.clock),
      };
      subscription = created;
      this.#subscriptions.set(key, subscription);
      void this.#subscribe(subscription);
    } else if (subscription.hosts) {
      const current = subscription;
      queueMicrotask(() => {
        if (current.listeners.has(listener) && current.hosts) this.#call(listener, current, current.hosts);
      });
    }
    subscription.listeners.add(listener);
    const active = subscription;
    return () => {
      if (!active.listeners.delete(listener) || active.listeners.size > 0) return;
      this.#subscriptions.delete(key);
      active.retry.cancel();
      this.#connection
        .request('SubscribeServiceRequest', { namespace: this.#options.namespace, serviceName, groupName, clusters: '', subscribe: false })
        .catch(() => {
          // The server forgets subscriptions with the connection; nothing to restore.
        });
    };
  }

  /**
   * Subscribes unless the current connection already has the subscription; until a list is known,
   * falls back to the failover cache when Nacos cannot be reached. On failure, tries again with
   * backoff while the subscription exists.
   */
  async #subscribe(subscription: Subscription): Promise<void> {
    if (this.#closed || !this.#isCurrent(subscription)) return;
    const key = serviceKey(subscription.groupName, subscription.serviceName);
    const cached = subscription.hosts ? undefined : await this.#cache?.read('naming', key);
    try {
      const send = await this.#connection.ready(cached ? { failFastMs: FAILOVER_WAIT_MS } : {});
      if (subscription.sentOn !== send && this.#isCurrent(subscription)) await this.#subscribeOn(send, subscription);
      const failures = subscription.retry.succeeded();
      if (failures > 0) this.#options.logger.warn(`graylane: subscribing to Nacos service ${key} works again after ${failures} failed attempt(s)`);
    } catch (error) {
      if (this.#closed || !this.#isCurrent(subscription) || (isGraylaneError(error) && error.code === ErrorCode.CLOSED)) return;
      if (subscription.retry.failures === 0) {
        this.#options.logger.warn(`graylane: subscribing to Nacos service ${key} failed (${(error as Error).message}); retrying with backoff`);
      }
      subscription.retry.schedule();
      if (cached && !subscription.hosts) {
        const hosts = sortHosts(list(cached.value).flatMap(toInstance));
        this.#options.logger.warn(
          `graylane: serving the cached list of Nacos service ${key} (${hosts.length} instances, saved ${cached.savedAt} in ${cached.file}) until Nacos answers; it may be stale`,
        );
        subscription.cached = true;
        this.#deliver(subscription, hosts, JSON.stringify(hosts));
      }
    }
  }

  async #subscribeOn(send: Send, subscription: Subscription): Promise<void> {
    const response = await send('SubscribeServiceRequest', {
      namespace: this.#options.namespace,
      serviceName: subscription.serviceName,
      groupName: subscription.groupName,
      clusters: '',
      subscribe: true,
    });
    subscription.sentOn = send;
    this.#apply(subscription, obj(response['serviceInfo']));
  }

  /**
   * Sends a registration and records the connection it went out on. Nacos 2.x and 3.x servers keep
   * one registration per service and connection: a second `registerInstance` of the same service
   * replaces the first (r-nacos adds it instead). So when this client registers several instances
   * of one service, they go out together as one `batchRegisterInstance`, which every server takes
   * as the connection's whole set.
   */
  async #register(send: Send, entry: Registration): Promise<void> {
    const siblings = this.#siblings(entry.service);
    const base = { namespace: this.#options.namespace, serviceName: entry.serviceName, groupName: entry.groupName };
    if (siblings.length <= 1) {
      await send('InstanceRequest', { ...base, type: 'registerInstance', instance: entry.instance });
    } else {
      await send('BatchInstanceRequest', { ...base, type: 'batchRegisterInstance', instances: siblings.map((sibling) => sibling.instance) });
    }
    entry.sentOn = send;
    for (const sibling of siblings) if (this.#registrations.get(sibling.key) === sibling) sibling.sentOn = send;
  }

  /** The kept registrations of one service (`group@@service`). */
  #siblings(service: string): Registration[] {
    const siblings: Registration[] = [];
    for (const entry of this.#registrations.values()) if (entry.service === service) siblings.push(entry);
    return siblings;
  }

  /**
   * Runs on every new connection: the server has forgotten this client's registrations and
   * subscriptions. What fails to be restored is retried with backoff (the connection logs the failures).
   */
  async #restore(send: Send): Promise<void> {
    const failures: string[] = [];
    for (const [key, entry] of this.#registrations) {
      // Gone, or announced already with a sibling's batch.
      if (this.#registrations.get(key) !== entry || entry.sentOn === send) continue;
      try {
        await this.#register(send, entry);
      } catch (error) {
        failures.push(`register ${key}: ${(error as Error).message}`);
        if (!this.#closed && this.#registrations.get(key) === entry) entry.retry.schedule();
      }
    }
    for (const subscription of this.#subscriptions.values()) {
      if (!this.#isCurrent(subscription)) continue;
      try {
        await this.#subscribeOn(send, subscription);
      } catch (error) {
        failures.push(`subscribe ${subscription.groupName}@@${subscription.serviceName}: ${(error as Error).message}`);
        if (!this.#closed && this.#isCurrent(subscription)) subscription.retry.schedule();
      }
    }
    if (failures.length > 0) throw new Error(failures.join('; ') + '; retrying with backoff');
  }

  #onNotify(body: Body): void {
    const info = obj(body['serviceInfo']);
    const groupName = str(body['groupName']) || str(info['groupName']) || this.#options.group;
    const serviceName = withoutGroup(str(body['serviceName']) || str(info['name']));
    const subscription = this.#subscriptions.get(serviceKey(groupName, serviceName));
    if (subscription) this.#apply(subscription, info);
  }

  /**
   * Takes a service info from a subscribe response or a push; when the hosts changed, saves them in
   * the failover cache and notifies listeners.
   */
  #apply(subscription: Subscription, info: Body): void {
    const lastRefTime = num(info['lastRefTime'], 0);
    if (lastRefTime < subscription.lastRefTime) return; // an older answer overtaken by a push
    subscription.lastRefTime = lastRefTime;
    const hosts = sortHosts(list(info['hosts']).flatMap(toInstance));
    const signature = JSON.stringify(hosts);
    if (subscription.cached) {
      subscription.cached = false;
      this.#options.logger.warn(`graylane: Nacos answered for service ${serviceKey(subscription.groupName, subscription.serviceName)}; its list replaces the cached one`);
    }
    if (subscription.hosts && signature === subscription.signature) return;
    this.#cache?.save('naming', serviceKey(subscription.groupName, subscription.serviceName), hosts);
    this.#deliver(subscription, hosts, signature);
  }

  #deliver(subscription: Subscription, hosts: readonly NacosInstance[], signature: string): void {
    subscription.hosts = hosts;
    subscription.signature = signature;
    for (const listener of [...subscription.listeners]) this.#call(listener, subscription, hosts);
  }

  #call(listener: NacosServiceListener, subscription: Subscription, hosts: readonly NacosInstance[]): void {
    try {
      listener(hosts);
    } catch (error) {
      this.#options.logger.warn(
        `graylane: a listener of Nacos service ${subscription.groupName}@@${subscription.serviceName} threw: ${(error as Error).message}`,
      );
    }
  }

  #isCurrent(subscription: Subscription): boolean {
    return this.#subscriptions.get(serviceKey(subscription.groupName, subscription.serviceName)) === subscription;
  }
}

/** Rejects registrations Nacos would drop silently or choke on, with {@link ErrorCode.REGISTRY}. */
function assertRegistration(registration: NacosInstanceRegistration): void {
  const { serviceName, ip, port, weight, metadata = {} } = registration;
  const problems = [
    serviceName ? undefined : 'serviceName is empty',
    ip ? undefined : 'ip is empty',
    Number.isInteger(port) && port > 0 && port <= 65535 ? undefined : `port ${port} is not a TCP port`,
    weight === undefined || (Number.isFinite(weight) && weight >= 0) ? undefined : `weight ${weight} is not a non-negative number`,
    ...Object.entries(metadata).map(([key, value]) =>
      typeof value === 'string' ? undefined : `metadata "${key}" is a ${typeof value}; Nacos drops metadata with non-string values`,
    ),
  ].filter((problem) => problem !== undefined);
  if (problems.length > 0) {
    throw new GraylaneError(ErrorCode.REGISTRY, `cannot register ${serviceName || '(no service)'} at ${ip}:${port}: ${problems.join('; ')}`, {
      details: { serviceName, ip, port, problems },
    });
  }
}

function serviceKey(groupName: string, serviceName: string): string {
  return `${groupName}@@${serviceName}`;
}

function instanceKey(instance: NacosInstanceKey, groupName: string): string {
  return `${serviceKey(groupName, instance.serviceName)}#${instance.clusterName || DEFAULT_CLUSTER}#${instance.ip}:${instance.port}`;
}

/** `DEFAULT_GROUP@@orders` → `orders`: servers disagree on whether names carry the group. */
function withoutGroup(name: string): string {
  const at = name.indexOf('@@');
  return at === -1 ? name : name.slice(at + 2);
}

/** True when Nacos answered and refused, as opposed to a timeout or an unreachable server. */
function isRejection(error: unknown): boolean {
  return (
    isGraylaneError(error) &&
    (error.code === ErrorCode.NACOS_AUTH || error.code === ErrorCode.CONFIG_INVALID || typeof error.details['errorCode'] === 'number')
  );
}

/**
 * True when a request failed because Nacos could not be reached or did not answer in time
 * (`GRAYLANE_ERR_NACOS` without an `errorCode`, or `GRAYLANE_ERR_NACOS_TIMEOUT`), as opposed to
 * Nacos refusing it or the client being closed.
 */
export function isUnreachable(error: unknown): boolean {
  return isGraylaneError(error) && (error.code === ErrorCode.NACOS || error.code === ErrorCode.NACOS_TIMEOUT) && !isRejection(error);
}

function sortHosts(hosts: NacosInstance[]): NacosInstance[] {
  return hosts.sort((a, b) => a.ip.localeCompare(b.ip) || a.port - b.port);
}

function toInstance(raw: unknown): NacosInstance[] {
  const host = obj(raw);
  const ip = str(host['ip']);
  const port = num(host['port'], 0);
  if (ip === '' || port <= 0) return [];
  return [
    {
      instanceId: str(host['instanceId']) || `${ip}#${port}`,
      ip,
      port,
      weight: num(host['weight'], 1),
      healthy: bool(host['healthy'], true),
      enabled: bool(host['enabled'], true),
      ephemeral: bool(host['ephemeral'], true),
      clusterName: str(host['clusterName']) || DEFAULT_CLUSTER,
      serviceName: withoutGroup(str(host['serviceName'])),
      metadata: strMap(host['metadata']),
    },
  ];
}
