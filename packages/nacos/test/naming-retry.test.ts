// Subscriptions and registrations must not be lost when one request fails on a healthy connection:
// the subscribe and register requests are retried with backoff (src/retry.ts, shared with config
// watches). A fake connection fails chosen requests deterministically.
import { ErrorCode, GraylaneError } from '@graylane/core';
import { NacosNaming } from '../src/index.js';
import type { NacosInstance } from '../src/index.js';
import { resolveOptions } from '../src/options.js';
import type { Body } from '../src/proto.js';
import type { Send } from '../src/transport/connection.js';
import { RETRY_MAX_MS, retryDelay } from '../src/retry.js';
import { createFakeClock } from '@graylane/testing';
import type { FakeClock } from '@graylane/testing';
import { FakeConnection } from './fake-connection.js';
import { Inbox, collectingLogger } from './rnacos.js';

/** An in-memory naming server behind the connection surface NacosNaming uses. */
class FakeNamingServer extends FakeConnection<'SubscribeServiceRequest' | 'InstanceRequest'> {
  /** `group@@service` → `ip:port` → the registered instance. */
  readonly services = new Map<string, Map<string, Body>>();
  /** `group@@service` the "server" pushes to this client. */
  readonly subscribed = new Set<string>();
  /** Registrations fail with this server errorCode (a refusal) while set. */
  refuseWith: number | undefined;
  #lastRefTime = 0;

  constructor() {
    super(['SubscribeServiceRequest', 'InstanceRequest']);
  }

  protected handle(type: string, body: Body): Body {
    const key = `${String(body['groupName'])}@@${String(body['serviceName'])}`;
    if (type === 'SubscribeServiceRequest') {
      if (body['subscribe']) this.subscribed.add(key);
      else this.subscribed.delete(key);
      return { serviceInfo: this.#info(key) };
    }
    if (type === 'InstanceRequest') {
      if (this.refuseWith !== undefined) {
        throw new GraylaneError(ErrorCode.NACOS, `Nacos rejected InstanceRequest (errorCode ${this.refuseWith})`, { details: { errorCode: this.refuseWith } });
      }
      const instance = body['instance'] as Body;
      const hosts = this.services.get(key) ?? new Map<string, Body>();
      this.services.set(key, hosts);
      if (body['type'] === 'registerInstance') hosts.set(`${String(instance['ip'])}:${String(instance['port'])}`, instance);
      else hosts.delete(`${String(instance['ip'])}:${String(instance['port'])}`);
      this.#notify(key);
    }
    return {};
  }

  protected forgetConnection(): void {
    this.subscribed.clear();
    this.services.clear();
  }

  /** Another client registers an instance: the server pushes to subscribers, as r-nacos does. */
  addInstance(service: string, ip: string, port: number): void {
    const key = `DEFAULT_GROUP@@${service}`;
    const hosts = this.services.get(key) ?? new Map<string, Body>();
    this.services.set(key, hosts);
    hosts.set(`${ip}:${port}`, { ip, port, serviceName: service, metadata: {} });
    this.#notify(key);
  }

  /** True when the "server" holds a registration of `ip:port` for the service. */
  has(service: string, ip: string, port: number): boolean {
    return this.services.get(`DEFAULT_GROUP@@${service}`)?.has(`${ip}:${port}`) ?? false;
  }

  #info(key: string): Body {
    const [groupName, name] = key.split('@@') as [string, string];
    return { name, groupName, lastRefTime: ++this.#lastRefTime, hosts: [...(this.services.get(key)?.values() ?? [])] };
  }

  #notify(key: string): void {
    if (!this.subscribed.has(key)) return;
    const info = this.#info(key);
    this.push('NotifySubscriberRequest', { serviceName: info['name'], groupName: info['groupName'], serviceInfo: info });
  }
}

const clients: NacosNaming[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

/** The fake clock of the latest {@link setup}: the retries' backoff runs on it, so no test sleeps through one. */
let clock: FakeClock;

function setup() {
  const connection = new FakeNamingServer();
  const logger = collectingLogger();
  clock = createFakeClock();
  const resolved = resolveOptions({ serverAddr: '127.0.0.1:8848', cacheDir: false, logger });
  const naming = new NacosNaming(connection.asConnection(), { ...resolved, clock });
  clients.push(naming);
  return { connection, logger, naming };
}

/** Fake time passes: the retries that fall due run. */
const sleep = (ms: number) => clock.advance(ms);
/** Fake time passes until `condition` holds, at most `maxMs`. */
const until = (condition: () => boolean, maxMs: number, what: string) => clock.advanceUntil(condition, maxMs, what);
/** Fake time passes until `inbox` received an item satisfying `predicate`. */
const received = <T>(inbox: Inbox<T>, predicate: (item: T) => boolean, maxMs: number, what: string) =>
  until(() => inbox.items.some(predicate), maxMs, what);
const ports = (hosts: readonly NacosInstance[]) => hosts.map((host) => host.port).join();

describe('NacosNaming subscription retries', () => {
  it('regression: a subscription whose subscribe request times out on a healthy connection retries until the server pushes to it', async () => {
    const { connection, logger, naming } = setup();
    connection.addInstance('orders', '10.0.0.1', 8080);
    connection.failures.SubscribeServiceRequest = 2;
    const inbox = new Inbox<readonly NacosInstance[]>();
    naming.subscribe('orders', inbox.push);
    await until(() => connection.subscribed.has('DEFAULT_GROUP@@orders'), 3000, 'the subscription after two failed requests');
    expect(connection.count('SubscribeServiceRequest')).toBe(3);
    await received(inbox, (hosts) => ports(hosts) === '8080', 1000, 'the first list');

    connection.addInstance('orders', '10.0.0.2', 8081);
    await received(inbox, (hosts) => ports(hosts) === '8080,8081', 1000, 'the pushed list');
    expect(inbox.items.map(ports)).toEqual(['8080', '8080,8081']);
    expect(logger.messages.filter((m) => /subscribing to Nacos service DEFAULT_GROUP@@orders failed .*timed out.*retrying with backoff/.test(m))).toHaveLength(1);
    expect(logger.messages.filter((m) => /DEFAULT_GROUP@@orders works again after 2 failed attempt/.test(m))).toHaveLength(1);
  });

  it('stops retrying when the subscription is removed, and when the client closes', async () => {
    const { connection, naming } = setup();
    connection.failures.SubscribeServiceRequest = Number.POSITIVE_INFINITY;
    const unsubscribe = naming.subscribe('gone', () => undefined);
    await until(() => connection.count('SubscribeServiceRequest') >= 2, 2000, 'a retry');
    unsubscribe();
    const after = connection.count('SubscribeServiceRequest');
    await sleep(1500);
    expect(connection.count('SubscribeServiceRequest')).toBe(after); // `after` includes the unsubscribe request

    naming.subscribe('closed', () => undefined);
    await until(() => connection.count('SubscribeServiceRequest') >= after + 3, 2000, 'a retry of the second subscription');
    await naming.close();
    const atClose = connection.count('SubscribeServiceRequest');
    await sleep(1500);
    expect(connection.count('SubscribeServiceRequest')).toBe(atClose);
  }, 15_000);

  it('backs off: failures in a row wait longer each time', async () => {
    const { connection, naming } = setup();
    connection.failures.SubscribeServiceRequest = Number.POSITIVE_INFINITY;
    const times: number[] = [];
    const send = connection.send;
    (connection as { send: Send }).send = (type, body) => {
      if (type === 'SubscribeServiceRequest') times.push(clock.now());
      return send(type, body);
    };
    naming.subscribe('backoff', () => undefined);
    await until(() => times.length >= 4, 5000, 'four attempts');
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // 0.5 s, 1 s, 2 s nominal, each jittered to [50 %, 100 %].
    expect(gaps[0]).toBeGreaterThanOrEqual(240);
    expect(gaps[0]).toBeLessThan(600);
    expect(gaps[1]).toBeGreaterThanOrEqual(490);
    expect(gaps[2]).toBeGreaterThanOrEqual(990);
  }, 15_000);

  it('subscribes again with backoff when restoring the subscription on a new connection fails', async () => {
    const { connection, naming } = setup();
    const inbox = new Inbox<readonly NacosInstance[]>();
    naming.subscribe('restored', inbox.push);
    await until(() => connection.subscribed.has('DEFAULT_GROUP@@restored'), 1000, 'the subscription');
    connection.failures.SubscribeServiceRequest = 1;
    await connection.reconnect();
    expect(connection.subscribed.has('DEFAULT_GROUP@@restored')).toBe(false);
    await until(() => connection.subscribed.has('DEFAULT_GROUP@@restored'), 2000, 'the subscription after the reconnect');
    connection.addInstance('restored', '10.0.0.3', 9000);
    await received(inbox, (hosts) => ports(hosts) === '9000', 1000, 'the pushed list');
  });

  it('a retry skips a connection that already has the subscription', async () => {
    const { connection, naming } = setup();
    connection.failures.SubscribeServiceRequest = 1;
    naming.subscribe('skipped', () => undefined);
    await until(() => connection.count('SubscribeServiceRequest') === 1, 1000, 'the failed request');
    await connection.reconnect(); // restores the subscription before the retry is due
    expect(connection.count('SubscribeServiceRequest')).toBe(2);
    await sleep(700); // past the first retry (≤ 0.5 s)
    expect(connection.count('SubscribeServiceRequest')).toBe(2);
  });
});

describe('NacosNaming registration retries', () => {
  it('regression: a registration that times out on a healthy connection rejects, then is sent again until Nacos has it', async () => {
    const { connection, logger, naming } = setup();
    connection.failures.InstanceRequest = 2;
    await expect(naming.registerInstance({ serviceName: 'orders', ip: '10.0.0.9', port: 8080 })).rejects.toMatchObject({
      code: ErrorCode.NACOS_TIMEOUT,
    });
    await until(() => connection.has('orders', '10.0.0.9', 8080), 3000, 'the registration after two failed requests');
    expect(connection.count('InstanceRequest')).toBe(3);
    expect(logger.messages.filter((m) => /registering Nacos instance DEFAULT_GROUP@@orders#DEFAULT#10\.0\.0\.9:8080 failed again .*retrying with backoff/.test(m))).toHaveLength(1);
    expect(logger.messages.filter((m) => /registered Nacos instance DEFAULT_GROUP@@orders#DEFAULT#10\.0\.0\.9:8080 after 2 failed attempt/.test(m))).toHaveLength(1);
    await sleep(700);
    expect(connection.count('InstanceRequest')).toBe(3); // no more retries once accepted
  });

  it('registers again with backoff when restoring the registration on a new connection fails', async () => {
    const { connection, naming } = setup();
    await naming.registerInstance({ serviceName: 'restored', ip: '10.0.0.9', port: 8081 });
    connection.failures.InstanceRequest = 1;
    await connection.reconnect();
    expect(connection.has('restored', '10.0.0.9', 8081)).toBe(false);
    await until(() => connection.has('restored', '10.0.0.9', 8081), 2000, 'the registration after the reconnect');
  });

  it('a registration Nacos refuses is forgotten, not retried', async () => {
    const { connection, naming } = setup();
    connection.refuseWith = 400;
    await expect(naming.registerInstance({ serviceName: 'refused', ip: '10.0.0.9', port: 8082 })).rejects.toMatchObject({ code: ErrorCode.NACOS });
    connection.refuseWith = undefined;
    await sleep(700);
    expect(connection.count('InstanceRequest')).toBe(1);
    await connection.reconnect();
    expect(connection.has('refused', '10.0.0.9', 8082)).toBe(false);
  });

  it('stops retrying a registration when it is deregistered', async () => {
    const { connection, naming } = setup();
    connection.failures.InstanceRequest = Number.POSITIVE_INFINITY;
    await expect(naming.registerInstance({ serviceName: 'withdrawn', ip: '10.0.0.9', port: 8083 })).rejects.toThrow(/timed out/);
    await until(() => connection.count('InstanceRequest') >= 2, 2000, 'a retry');
    await expect(naming.deregisterInstance({ serviceName: 'withdrawn', ip: '10.0.0.9', port: 8083 })).rejects.toThrow(/timed out/);
    const afterDeregister = connection.count('InstanceRequest');
    await sleep(1500);
    expect(connection.count('InstanceRequest')).toBe(afterDeregister);
  });

  it('a later registration of the same instance replaces a pending retry', async () => {
    const { connection, naming } = setup();
    connection.failures.InstanceRequest = Number.POSITIVE_INFINITY;
    // A later registration of the same instance replaces the pending one: one retry chain, not two.
    await expect(naming.registerInstance({ serviceName: 'replaced', ip: '10.0.0.9', port: 8084, metadata: { v: '1' } })).rejects.toThrow();
    await expect(naming.registerInstance({ serviceName: 'replaced', ip: '10.0.0.9', port: 8084, metadata: { v: '2' } })).rejects.toThrow();
    connection.failures.InstanceRequest = 0;
    await until(() => connection.has('replaced', '10.0.0.9', 8084), 2000, 'the replacing registration');
    expect(connection.services.get('DEFAULT_GROUP@@replaced')?.get('10.0.0.9:8084')?.['metadata']).toEqual({ v: '2' });
    const afterReplace = connection.count('InstanceRequest');
    await sleep(1200);
    expect(connection.count('InstanceRequest')).toBe(afterReplace);
  });

  it('stops retrying registrations when the client closes', async () => {
    const { connection, naming } = setup();
    connection.failures.InstanceRequest = Number.POSITIVE_INFINITY;
    await expect(naming.registerInstance({ serviceName: 'closed', ip: '10.0.0.9', port: 8085 })).rejects.toThrow();
    await naming.close();
    const atClose = connection.count('InstanceRequest');
    await sleep(1500);
    expect(connection.count('InstanceRequest')).toBe(atClose);
  });
});

describe('retryDelay', () => {
  it('starts at 0.5 s, doubles, caps at 30 s, and jitters within [50 %, 100 %]', () => {
    for (let i = 0; i < 200; i++) {
      const first = retryDelay(0);
      expect(first).toBeGreaterThanOrEqual(250);
      expect(first).toBeLessThanOrEqual(500);
      const third = retryDelay(2);
      expect(third).toBeGreaterThanOrEqual(1000);
      expect(third).toBeLessThanOrEqual(2000);
      const late = retryDelay(1000);
      expect(late).toBeGreaterThanOrEqual(RETRY_MAX_MS / 2);
      expect(late).toBeLessThanOrEqual(RETRY_MAX_MS);
    }
  });
});
