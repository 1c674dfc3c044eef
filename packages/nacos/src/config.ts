import { createHash } from 'node:crypto';
import { ErrorCode, isGraylaneError, sleep } from '@graylane/core';
import { FAILOVER_WAIT_MS, FailoverCache } from './cache.js';
import type { CacheEntry } from './cache.js';
import { isUnreachable } from './naming.js';
import type { ResolvedOptions } from './options.js';
import type { Body } from './proto.js';
import { Backoff } from './retry.js';
import type { NacosConnection, Send } from './transport/connection.js';
import { list, obj, str } from './wire.js';

/** Receives a config's content, `undefined` when it does not exist (or was removed). */
export type NacosConfigListener = (content: string | undefined) => void;

/** Options of {@link NacosConfig.publish}. */
export interface NacosPublishOptions {
  /** Content type shown in the Nacos console: `text`, `json`, `yaml`, `properties`, ... */
  readonly type?: string;
}

/** A failover cache entry holding a config's content. */
type CachedContent = CacheEntry & { readonly value: string };

/** errorCode of ConfigQueryResponse when the config does not exist. */
const NOT_FOUND = 300;
/**
 * errorCode of ConfigQueryResponse while the server rewrites the config ("requested file is being
 * modified, please try later"): the Java server answers it for a read that meets a concurrent
 * publish. The read is tried again after a short pause, a bounded number of times.
 */
const QUERY_CONFLICT = 400;
/** Pauses before the reads after a {@link QUERY_CONFLICT}: at most about 0.6 s in all. */
const CONFLICT_PAUSES_MS = [20, 40, 80, 160, 320] as const;

interface Watch {
  readonly dataId: string;
  readonly group: string;
  readonly listeners: Set<NacosConfigListener>;
  /** Content last delivered; meaningful once `known`. */
  content: string | undefined;
  known: boolean;
  /** A refresh is running; `stale` asks it to query once more when it is done. */
  refreshing: boolean;
  stale: boolean;
  /** The connection the server last accepted this watch's listen on. */
  sentOn: Send | undefined;
  /** Retries reading (if unknown) and listening after a failure, with backoff. */
  listenRetry: Backoff;
  /** Retries a failed re-read after a change notice, with backoff. */
  refreshRetry: Backoff;
}

/**
 * Nacos configuration over gRPC: read, publish, remove, and watch configs. Watches survive
 * reconnects: the client listens again with the md5 it knows, and the server reports what changed
 * in between; every `configSyncIntervalMs` it checks the md5s again, in case a change notification
 * was lost. A watch whose listen request or re-read fails on a live connection (a timeout, an
 * error response) is retried with a jittered backoff (0.5 s doubling to 30 s) for as long as it
 * exists, so it never silently stops hearing of changes. Every content read is saved in the
 * failover cache, which answers reads and starts watches while Nacos cannot be reached.
 */
export class NacosConfig {
  readonly #connection: NacosConnection;
  readonly #options: ResolvedOptions;
  readonly #watches = new Map<string, Watch>();
  readonly #request: Send = (type, body) => this.#connection.request(type, body);
  readonly #cache: FailoverCache | undefined;
  readonly #syncTimer: NodeJS.Timeout | undefined;
  #closed = false;

  /** @internal Use {@link createNacosConfig} or {@link createNacosClient}. */
  constructor(connection: NacosConnection, options: ResolvedOptions) {
    this.#connection = connection;
    this.#options = options;
    this.#cache = options.cacheDir === undefined ? undefined : new FailoverCache(options.cacheDir, options.logger);
    if (options.configSyncIntervalMs > 0) this.#syncTimer = setInterval(() => void this.#sync(), options.configSyncIntervalMs).unref();
    connection.onPush('ConfigChangeNotifyRequest', (body) => {
      const watch = this.#watches.get(configKey(str(body['dataId']), str(body['group'])));
      if (watch) this.#refresh(watch);
    });
    connection.onConnect(async (send) => {
      const watches = [...this.#watches.values()];
      try {
        await this.#listen(send, watches);
      } catch (error) {
        for (const watch of watches) if (watch.sentOn !== send) this.#retryListen(watch);
        throw error; // the connection logs it
      }
    });
  }

  /** Closes the config connection; watches stop. Resolves once the failover cache is written. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#syncTimer);
    for (const watch of this.#watches.values()) stopRetries(watch);
    this.#watches.clear();
    await Promise.all([this.#connection.close(), this.#cache?.flush()]);
  }

  /**
   * The config's content, or `undefined` when it does not exist. When Nacos cannot be reached and
   * the failover cache holds the config, answers with the cached content within about a second
   * (at once when connecting has already failed) and warns that it may be stale.
   */
  async get(dataId: string, group?: string): Promise<string | undefined> {
    const resolvedGroup = group || this.#options.group;
    const cached = await this.#cached(dataId, resolvedGroup);
    try {
      const send = await this.#connection.ready(cached ? { failFastMs: FAILOVER_WAIT_MS } : {});
      const content = await this.#query(send, dataId, resolvedGroup);
      this.#save(dataId, resolvedGroup, content);
      return content;
    } catch (error) {
      if (!cached || !isUnreachable(error)) throw error;
      return this.#stale(cached, error as Error);
    }
  }

  /** Creates or replaces a config; resolves once Nacos has stored it. */
  async publish(dataId: string, content: string, group?: string, options: NacosPublishOptions = {}): Promise<void> {
    await this.#connection.request('ConfigPublishRequest', {
      dataId,
      group: group || this.#options.group,
      tenant: this.#options.tenant,
      content,
      casMd5: '',
      additionMap: options.type ? { type: options.type } : {},
    });
  }

  /** Deletes a config; resolves once Nacos has deleted it. Missing configs are a no-op. */
  async remove(dataId: string, group?: string): Promise<void> {
    await this.#connection.request('ConfigRemoveRequest', {
      dataId,
      group: group || this.#options.group,
      tenant: this.#options.tenant,
      tag: '',
    });
  }

  /**
   * Watches a config. The listener gets the current content soon after watching (`undefined` when
   * the config does not exist), then the new content after every change. Returns a function that
   * stops this listener. When Nacos cannot be reached, the first content comes from the failover
   * cache if it holds the config (see {@link get}); changes follow once Nacos is back.
   */
  watch(dataId: string, group: string | undefined, listener: NacosConfigListener): () => void {
    const key = configKey(dataId, group || this.#options.group);
    let watch = this.#watches.get(key);
    if (!watch) {
      const created: Watch = {
        dataId,
        group: group || this.#options.group,
        listeners: new Set(),
        content: undefined,
        known: false,
        refreshing: false,
        stale: false,
        sentOn: undefined,
        listenRetry: new Backoff(() => void this.#start(created), this.#options.clock),
        refreshRetry: new Backoff(() => this.#refresh(created), this.#options.clock),
      };
      watch = created;
      this.#watches.set(key, watch);
      void this.#start(watch);
    } else if (watch.known) {
      const current = watch;
      queueMicrotask(() => {
        if (current.listeners.has(listener)) this.#call(listener, current, current.content);
      });
    }
    watch.listeners.add(listener);
    const active = watch;
    return () => {
      if (!active.listeners.delete(listener) || active.listeners.size > 0) return;
      this.#watches.delete(key);
      stopRetries(active);
      this.#connection.request('ConfigBatchListenRequest', { listen: false, configListenContexts: [this.#context(active)] }).catch(() => {
        // The server forgets listeners with the connection; nothing to restore.
      });
    };
  }

  /**
   * Reads the config if its content is not known yet and listens to it, unless the current
   * connection already has the listener; on failure, tries again with backoff while the watch exists.
   */
  async #start(watch: Watch): Promise<void> {
    if (!this.#isCurrent(watch)) return;
    const cached = watch.known ? undefined : await this.#cached(watch.dataId, watch.group);
    try {
      const send = await this.#connection.ready(cached ? { failFastMs: FAILOVER_WAIT_MS } : {});
      if (watch.sentOn !== send && this.#isCurrent(watch)) await this.#listen(send, [watch]);
      const failures = watch.listenRetry.succeeded();
      if (failures > 0) {
        this.#options.logger.warn(`graylane: watching Nacos config ${watch.group}/${watch.dataId} works again after ${failures} failed attempt(s)`);
      }
    } catch (error) {
      if (this.#closed || !this.#isCurrent(watch) || (isGraylaneError(error) && error.code === ErrorCode.CLOSED)) return;
      if (watch.listenRetry.failures === 0) {
        this.#options.logger.warn(
          `graylane: watching Nacos config ${watch.group}/${watch.dataId} failed (${(error as Error).message}); retrying with backoff`,
        );
      }
      if (cached && !watch.known) this.#deliver(watch, this.#stale(cached, error as Error), { live: false });
      this.#retryListen(watch);
    }
  }

  /** Schedules {@link #start} again, after a backoff that grows with the failures in a row. */
  #retryListen(watch: Watch): void {
    if (this.#closed || !this.#isCurrent(watch)) return;
    watch.listenRetry.schedule();
  }

  /**
   * Listens again to every watched config with the md5 it knows, so the server reports changes
   * whose notification was lost; skipped while Nacos cannot be reached (reconnecting listens again).
   */
  async #sync(): Promise<void> {
    const watches = [...this.#watches.values()];
    if (watches.length === 0) return;
    let send: Send;
    try {
      send = await this.#connection.ready({ failFastMs: FAILOVER_WAIT_MS });
    } catch {
      return;
    }
    try {
      await this.#listen(send, watches);
    } catch (error) {
      this.#options.logger.warn(`graylane: checking watched Nacos configs for missed changes failed (${(error as Error).message}); retrying with backoff`);
      // Not known to be listened to any more: each watch listens again (with its md5) on its own backoff.
      for (const watch of watches) {
        if (watch.sentOn === send) watch.sentOn = undefined;
        this.#retryListen(watch);
      }
    }
  }

  /** Reads unknown contents, then listens with each watch's md5; the server answers with what differs. */
  async #listen(send: Send, watches: readonly Watch[]): Promise<void> {
    if (watches.length === 0) return;
    for (const watch of watches) {
      if (!watch.known) this.#deliver(watch, await this.#query(send, watch.dataId, watch.group), { live: true });
    }
    const response = await send('ConfigBatchListenRequest', {
      listen: true,
      configListenContexts: watches.map((watch) => this.#context(watch)),
    });
    for (const watch of watches) watch.sentOn = send;
    for (const changed of list(response['changedConfigs'])) {
      const watch = this.#watches.get(configKey(str(obj(changed)['dataId']), str(obj(changed)['group'])));
      if (watch) this.#refresh(watch);
    }
  }

  /**
   * Re-reads a watched config after a change notice; runs at most one query per config at a time.
   * A failed read is retried with backoff until one succeeds (a new notice retries at once), so the
   * watch never keeps old content after a change it was told of.
   */
  #refresh(watch: Watch): void {
    watch.refreshRetry.cancel();
    if (watch.refreshing) {
      watch.stale = true;
      return;
    }
    watch.refreshing = true;
    void (async () => {
      let failure: Error | undefined;
      do {
        watch.stale = false;
        try {
          this.#deliver(watch, await this.#query(this.#request, watch.dataId, watch.group), { live: true });
          failure = undefined;
        } catch (error) {
          failure = error as Error;
        }
      } while (watch.stale);
      watch.refreshing = false;
      if (!failure) {
        const failures = watch.refreshRetry.succeeded();
        if (failures > 0) {
          this.#options.logger.warn(`graylane: read changed Nacos config ${watch.group}/${watch.dataId} after ${failures} failed attempt(s)`);
        }
        return;
      }
      if (this.#closed || !this.#isCurrent(watch) || (isGraylaneError(failure) && failure.code === ErrorCode.CLOSED)) return;
      if (watch.refreshRetry.failures === 0) {
        this.#options.logger.warn(
          `graylane: reading changed Nacos config ${watch.group}/${watch.dataId} failed (${failure.message}); retrying with backoff`,
        );
      }
      watch.refreshRetry.schedule();
    })();
  }

  async #query(send: Send, dataId: string, group: string): Promise<string | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await send('ConfigQueryRequest', { dataId, group, tenant: this.#options.tenant, tag: '' });
        return str(response['content']);
      } catch (error) {
        const code = isGraylaneError(error) && error.code === ErrorCode.NACOS ? error.details['errorCode'] : undefined;
        if (code === NOT_FOUND) return undefined;
        const pause = CONFLICT_PAUSES_MS[attempt];
        if (code !== QUERY_CONFLICT || pause === undefined || this.#closed) throw error;
        await sleep(pause, this.#options.clock);
      }
    }
  }

  /** Hands a content to the watch's listeners if it changed; a `live` one (from the server) is saved in the cache. */
  #deliver(watch: Watch, content: string | undefined, { live }: { live: boolean }): void {
    if (watch.known && content === watch.content) return;
    if (live) this.#save(watch.dataId, watch.group, content);
    watch.known = true;
    watch.content = content;
    for (const listener of [...watch.listeners]) this.#call(listener, watch, content);
  }

  /** Keeps a content read from the server in the failover cache; a config that does not exist is removed from it. */
  #save(dataId: string, group: string, content: string | undefined): void {
    if (content === undefined) this.#cache?.remove('config', configKey(dataId, group));
    else this.#cache?.save('config', configKey(dataId, group), content);
  }

  /** The failover cache's entry for a config, if it holds one. */
  async #cached(dataId: string, group: string): Promise<CachedContent | undefined> {
    const entry = await this.#cache?.read('config', configKey(dataId, group));
    return typeof entry?.value === 'string' ? (entry as CachedContent) : undefined;
  }

  /** The content of a cache entry, with a warning that Nacos could not be reached and it may be stale. */
  #stale(cached: CachedContent, error: Error): string {
    this.#options.logger.warn(
      `graylane: Nacos cannot be reached (${error.message}); serving the cached content of config ${cached.key} (saved ${cached.savedAt} in ${cached.file}); it may be stale`,
    );
    return cached.value;
  }

  #isCurrent(watch: Watch): boolean {
    return this.#watches.get(configKey(watch.dataId, watch.group)) === watch;
  }

  #call(listener: NacosConfigListener, watch: Watch, content: string | undefined): void {
    try {
      listener(content);
    } catch (error) {
      this.#options.logger.warn(`graylane: a listener of Nacos config ${watch.group}/${watch.dataId} threw: ${(error as Error).message}`);
    }
  }

  #context(watch: Watch): Body {
    return {
      dataId: watch.dataId,
      group: watch.group,
      tenant: this.#options.tenant,
      md5: watch.content === undefined ? '' : md5(watch.content),
      tag: '',
    };
  }
}

function stopRetries(watch: Watch): void {
  watch.listenRetry.cancel();
  watch.refreshRetry.cancel();
}

function configKey(dataId: string, group: string): string {
  return `${group}/${dataId}`;
}

function md5(content: string): string {
  return createHash('md5').update(content, 'utf8').digest('hex');
}
