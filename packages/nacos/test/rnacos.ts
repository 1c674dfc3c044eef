// Starts a real r-nacos per test file (scripts/nacos/rnacos.cjs builds it once if it is missing).
// A binary that cannot be built or started fails the suite with the reason; nothing is skipped.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRnacos } from '../../../scripts/nacos/rnacos.cjs';
import type { RnacosNode } from '../../../scripts/nacos/rnacos.cjs';
import type { NacosLogger } from '../src/index.js';

// Clients write their failover cache here, not into the user's ~/.cache, one folder per test file.
const cacheRoot = mkdtempSync(join(tmpdir(), 'graylane-nacos-cache-'));
process.env['GRAYLANE_NACOS_CACHE_DIR'] = cacheRoot;
process.once('exit', () => rmSync(cacheRoot, { recursive: true, force: true }));

/** Long enough for the one-time cargo build when the binary is not cached yet. */
const START_TIMEOUT_MS = 30 * 60_000;

/** Starts r-nacos before the file's tests and stops it after them. */
export function useRnacos(env: Record<string, string> = {}): { readonly node: RnacosNode; readonly serverAddr: string } {
  let node: RnacosNode | undefined;
  beforeAll(async () => {
    node = await startRnacos({ env, log: (line) => process.stderr.write(`[rnacos] ${line}\n`) });
  }, START_TIMEOUT_MS);
  afterAll(async () => {
    await node?.stop();
  });
  return {
    get node() {
      if (!node) throw new Error('r-nacos is not running');
      return node;
    },
    get serverAddr() {
      if (!node) throw new Error('r-nacos is not running');
      return node.serverAddr;
    },
  };
}

/** A logger that keeps warnings for assertions instead of printing them. */
export function collectingLogger(): NacosLogger & { readonly messages: string[] } {
  const messages: string[] = [];
  return { messages, warn: (message) => messages.push(message) };
}

let nextPort = 20_000 + (process.pid % 1000) * 40;

/** A fresh port per instance: r-nacos keeps some metadata per ip:port for a while. */
export function freshPort(): number {
  return nextPort++;
}

/** Collects what a listener receives and waits for an item that matches. */
export class Inbox<T> {
  readonly items: T[] = [];
  #waiters: { predicate: (item: T) => boolean; resolve: (item: T) => void }[] = [];

  readonly push = (item: T): void => {
    this.items.push(item);
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!waiter.predicate(item)) return true;
      waiter.resolve(item);
      return false;
    });
  };

  /** The latest item if it satisfies `predicate`, else the next one that does (or a timeout error). */
  until(predicate: (item: T) => boolean, timeoutMs = 3000, what = 'a matching item'): Promise<T> {
    if (this.items.length > 0) {
      const latest = this.items[this.items.length - 1] as T; // T may itself include undefined
      if (predicate(latest)) return Promise.resolve(latest);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((waiter) => waiter.resolve !== done);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; seen: ${JSON.stringify(this.items)}`));
      }, timeoutMs);
      const done = (item: T) => {
        clearTimeout(timer);
        resolve(item);
      };
      this.#waiters.push({ predicate, resolve: done });
    });
  }
}
