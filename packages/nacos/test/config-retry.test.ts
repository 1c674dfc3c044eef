// Watches must not go deaf when one request fails on a healthy connection: the listen request and
// the re-read after a change notice are retried with backoff. A fake connection fails chosen
// requests deterministically.
import { ErrorCode, GraylaneError } from '@graylane/core';
import { NacosConfig } from '../src/index.js';
import { resolveOptions } from '../src/options.js';
import type { Body } from '../src/proto.js';
import type { Send } from '../src/transport/connection.js';
import { createFakeClock } from '@graylane/testing';
import type { FakeClock } from '@graylane/testing';
import { FakeConnection, until as untilReal } from './fake-connection.js';
import { Inbox, collectingLogger } from './rnacos.js';

/** An in-memory config server behind the connection surface NacosConfig uses. */
class FakeConfigServer extends FakeConnection<'ConfigQueryRequest' | 'ConfigBatchListenRequest'> {
  readonly contents = new Map<string, string>();
  /** `group/dataId` of configs the "server" has a listener for. */
  readonly listening = new Set<string>();

  constructor() {
    super(['ConfigQueryRequest', 'ConfigBatchListenRequest']);
  }

  /** The next reads answer errorCode 400, as the Java server does while it rewrites a config. */
  conflicts = 0;

  protected handle(type: string, body: Body): Body {
    const key = `${String(body['group'])}/${String(body['dataId'])}`;
    if (type === 'ConfigQueryRequest' && this.conflicts > 0) {
      this.conflicts--;
      throw new GraylaneError(ErrorCode.NACOS, 'Nacos rejected ConfigQueryRequest (errorCode 400: requested file is being modified, please try later.)', { details: { errorCode: 400 } });
    }
    if (type === 'ConfigQueryRequest') {
      const content = this.contents.get(key);
      if (content === undefined) throw new GraylaneError(ErrorCode.NACOS, 'not found', { details: { errorCode: 300 } });
      return { content };
    }
    if (type === 'ConfigBatchListenRequest') {
      for (const context of body['configListenContexts'] as Body[]) {
        const contextKey = `${String(context['group'])}/${String(context['dataId'])}`;
        if (body['listen']) this.listening.add(contextKey);
        else this.listening.delete(contextKey);
      }
      return { changedConfigs: [] };
    }
    return {};
  }

  protected forgetConnection(): void {
    this.listening.clear();
  }

  /** The server publishes a change and notifies listeners, as r-nacos does. */
  publish(dataId: string, content: string, group = 'DEFAULT_GROUP'): void {
    this.contents.set(`${group}/${dataId}`, content);
    if (this.listening.has(`${group}/${dataId}`)) this.push('ConfigChangeNotifyRequest', { dataId, group, tenant: '' });
  }
}

const clients: NacosConfig[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

/** The fake clock of the latest {@link setup}: the retries' backoff runs on it, so no test sleeps through one. */
let clock: FakeClock;

/** `realClock`: the retries on the real clock, for a test that also needs the real-timer md5 check. */
function setup(options: { configSyncIntervalMs?: number; realClock?: boolean } = {}) {
  const connection = new FakeConfigServer();
  const logger = collectingLogger();
  clock = createFakeClock();
  const resolved = resolveOptions({ serverAddr: '127.0.0.1:8848', cacheDir: false, logger, configSyncIntervalMs: options.configSyncIntervalMs ?? 0 });
  const config = new NacosConfig(connection.asConnection(), options.realClock ? resolved : { ...resolved, clock });
  clients.push(config);
  return { connection, logger, config };
}

/** Fake time passes: the retries that fall due run. */
const sleep = (ms: number) => clock.advance(ms);
/** Fake time passes until `condition` holds, at most `maxMs`. */
const until = (condition: () => boolean, maxMs: number, what: string) => clock.advanceUntil(condition, maxMs, what);
/** Fake time passes until `inbox` received an item satisfying `predicate`. */
const received = <T>(inbox: Inbox<T>, predicate: (item: T) => boolean, maxMs: number, what: string) =>
  until(() => inbox.items.some(predicate), maxMs, what);

describe('NacosConfig reads while the server rewrites the config', () => {
  it('a read answered "being modified" (errorCode 400) is tried again after a short pause, and succeeds', async () => {
    const { connection, config } = setup();
    connection.contents.set('DEFAULT_GROUP/busy.yaml', 'v1');
    connection.conflicts = 3;
    const read = config.get('busy.yaml');
    let content: string | undefined | null = null;
    void read.then((c) => (content = c));
    await until(() => content !== null, 1000, 'the read after three conflicts');
    expect(content).toBe('v1');
    expect(connection.count('ConfigQueryRequest')).toBe(4);
  });

  it('gives up after five pauses (about 0.6 s), with the server\'s error', async () => {
    const { connection, config } = setup();
    connection.contents.set('DEFAULT_GROUP/busy.yaml', 'v1');
    connection.conflicts = 100;
    let failure: unknown;
    void config.get('busy.yaml').catch((error: unknown) => (failure = error));
    await until(() => failure !== undefined, 2000, 'the read to give up');
    expect(failure).toMatchObject({ code: ErrorCode.NACOS, details: { errorCode: 400 } });
    expect(connection.count('ConfigQueryRequest')).toBe(6);
  });
});

describe('NacosConfig watch retries', () => {
  it('regression: a watch whose listen request times out on a healthy connection retries until the server has the listener', async () => {
    const { connection, logger, config } = setup();
    connection.contents.set('DEFAULT_GROUP/app.yaml', 'v1');
    connection.failures.ConfigBatchListenRequest = 2;
    const inbox = new Inbox<string | undefined>();
    config.watch('app.yaml', undefined, inbox.push);
    await received(inbox, (content) => content === 'v1', 1000, 'the first content');
    await until(() => connection.listening.has('DEFAULT_GROUP/app.yaml'), 3000, 'the listener after two failed listens');
    expect(connection.count('ConfigBatchListenRequest')).toBe(3);

    connection.publish('app.yaml', 'v2');
    await received(inbox, (content) => content === 'v2', 1000, 'v2 pushed to the retried listener');
    expect(inbox.items).toEqual(['v1', 'v2']);
    expect(logger.messages.filter((m) => /watching Nacos config DEFAULT_GROUP\/app\.yaml failed .*timed out.*retrying with backoff/.test(m))).toHaveLength(1);
    expect(logger.messages.some((m) => /works again after 2 failed attempt/.test(m))).toBe(true);
  });

  it('a watch whose first read fails retries it and delivers the content', async () => {
    const { connection, config } = setup();
    connection.contents.set('DEFAULT_GROUP/first.yaml', 'v1');
    connection.failures.ConfigQueryRequest = 1;
    const inbox = new Inbox<string | undefined>();
    config.watch('first.yaml', undefined, inbox.push);
    await received(inbox, (content) => content === 'v1', 2000, 'the content after a failed first read');
    await until(() => connection.listening.has('DEFAULT_GROUP/first.yaml'), 1000, 'the listener');
    expect(inbox.items).toEqual(['v1']);
  });

  it('regression: a failed re-read after a change notice is retried until the new content is delivered', async () => {
    const { connection, logger, config } = setup();
    connection.contents.set('DEFAULT_GROUP/changed.yaml', 'v1');
    const inbox = new Inbox<string | undefined>();
    config.watch('changed.yaml', undefined, inbox.push);
    await until(() => connection.listening.has('DEFAULT_GROUP/changed.yaml'), 1000, 'the listener');
    await received(inbox, (content) => content === 'v1', 1000, 'v1');

    connection.failures.ConfigQueryRequest = 2;
    connection.publish('changed.yaml', 'v2');
    await received(inbox, (content) => content === 'v2', 3000, 'v2 after two failed re-reads');
    expect(connection.count('ConfigQueryRequest')).toBe(1 + 3);
    expect(inbox.items).toEqual(['v1', 'v2']);
    expect(logger.messages.filter((m) => /reading changed Nacos config DEFAULT_GROUP\/changed\.yaml failed .*retrying with backoff/.test(m))).toHaveLength(1);
  });

  it('a new change notice retries a failed re-read at once', async () => {
    const { connection, config } = setup();
    connection.contents.set('DEFAULT_GROUP/notice.yaml', 'v1');
    const inbox = new Inbox<string | undefined>();
    config.watch('notice.yaml', undefined, inbox.push);
    await until(() => connection.listening.has('DEFAULT_GROUP/notice.yaml'), 1000, 'the listener');
    connection.failures.ConfigQueryRequest = 1;
    connection.publish('notice.yaml', 'v2');
    await until(() => connection.failures.ConfigQueryRequest === 0, 1000, 'the failed re-read');
    await sleep(20);
    connection.publish('notice.yaml', 'v3');
    await received(inbox, (content) => content === 'v3', 200, 'v3 well before the backoff ends');
  });

  it('stops retrying when the watch is removed, and when the client closes', async () => {
    const { connection, config } = setup();
    connection.failures.ConfigBatchListenRequest = Number.POSITIVE_INFINITY;
    const unwatch = config.watch('gone.yaml', undefined, () => undefined);
    await until(() => connection.count('ConfigBatchListenRequest') >= 2, 2000, 'a retry');
    unwatch();
    const after = connection.count('ConfigBatchListenRequest');
    await sleep(1500);
    expect(connection.count('ConfigBatchListenRequest')).toBe(after); // `after` includes the unlisten request

    config.watch('closed.yaml', undefined, () => undefined);
    await until(() => connection.count('ConfigBatchListenRequest') >= after + 3, 2000, 'a retry of the second watch');
    await config.close();
    const atClose = connection.count('ConfigBatchListenRequest');
    await sleep(1500);
    expect(connection.count('ConfigBatchListenRequest')).toBe(atClose);
  });

  it('backs off: failures in a row wait longer each time', async () => {
    const { connection, config } = setup();
    connection.failures.ConfigBatchListenRequest = Number.POSITIVE_INFINITY;
    const times: number[] = [];
    const send = connection.send;
    (connection as { send: Send }).send = (type, body) => {
      if (type === 'ConfigBatchListenRequest') times.push(clock.now());
      return send(type, body);
    };
    config.watch('backoff.yaml', undefined, () => undefined);
    await until(() => times.length >= 4, 5000, 'four attempts');
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // 0.5 s, 1 s, 2 s nominal, each jittered to [50 %, 100 %].
    expect(gaps[0]).toBeGreaterThanOrEqual(240);
    expect(gaps[0]).toBeLessThan(600);
    expect(gaps[1]).toBeGreaterThanOrEqual(490);
    expect(gaps[2]).toBeGreaterThanOrEqual(990);
  });

  it('re-listens with backoff when listening again on a new connection fails', async () => {
    const { connection, config } = setup();
    connection.contents.set('DEFAULT_GROUP/reconnect.yaml', 'v1');
    const inbox = new Inbox<string | undefined>();
    config.watch('reconnect.yaml', undefined, inbox.push);
    await until(() => connection.listening.has('DEFAULT_GROUP/reconnect.yaml'), 1000, 'the listener');
    connection.failures.ConfigBatchListenRequest = 1;
    await connection.reconnect();
    expect(connection.listening.has('DEFAULT_GROUP/reconnect.yaml')).toBe(false);
    await until(() => connection.listening.has('DEFAULT_GROUP/reconnect.yaml'), 2000, 'the listener after the reconnect');
    connection.publish('reconnect.yaml', 'v2');
    await received(inbox, (content) => content === 'v2', 1000, 'v2');
  });

  // On the real clock: the md5 check runs on a real interval timer.
  it('re-listens with backoff when the periodic md5 check fails', async () => {
    const { connection, config } = setup({ configSyncIntervalMs: 1000, realClock: true });
    connection.contents.set('DEFAULT_GROUP/sync.yaml', 'v1');
    config.watch('sync.yaml', undefined, () => undefined);
    await untilReal(() => connection.listening.has('DEFAULT_GROUP/sync.yaml'), 1000, 'the listener');
    const before = connection.count('ConfigBatchListenRequest');
    connection.failures.ConfigBatchListenRequest = 1;
    await untilReal(() => connection.count('ConfigBatchListenRequest') === before + 1, 2000, 'the failing check');
    // The retry comes within the backoff (≤ 0.5 s), not with the next check (1 s later).
    const failedAt = Date.now();
    await untilReal(() => connection.count('ConfigBatchListenRequest') >= before + 2, 2000, 'the retry');
    expect(Date.now() - failedAt).toBeLessThan(800);
  });
});
