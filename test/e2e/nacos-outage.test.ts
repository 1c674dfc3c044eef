/**
 * "A Nacos outage must not stop a single request." The demo chain (A -> B -> C as real processes)
 * on its own r-nacos, so that killing it disturbs no other suite: the server is SIGKILLed under
 * traffic, a service is restarted while it is down, and then the server comes back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Instance, Registry } from '@graylane/core';
import { createNacosRegistry } from '@graylane/nacos';
import { startRnacos } from '../../scripts/nacos/rnacos.cjs';
import type { RnacosNode } from '../../scripts/nacos/rnacos.cjs';
import { addressOf, get, hops, startDemo } from './demo';
import type { Demo } from './demo';

const WORKERS = 20;
const TRAFFIC_MS = 8_000;
const KILL_AFTER_MS = 2_000;

let node: RnacosNode;
let demo: Demo;
let cacheHome: string;
const registries: Registry[] = [];

beforeAll(async () => {
  node = await startRnacos({ log: (line) => process.stderr.write(`[rnacos] ${line}\n`) });
  cacheHome = mkdtempSync(join(tmpdir(), 'graylane-outage-cache-'));
  demo = await startDemo({ ...process.env, NACOS_SERVER_ADDR: node.serverAddr, GRAYLANE_NACOS_CACHE_DIR: cacheHome });
}, 120_000);

afterAll(async () => {
  await Promise.all(registries.map((registry) => registry.close()));
  await demo?.close();
  await node?.stop();
  if (cacheHome) rmSync(cacheHome, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** `promise`, or a rejection naming `what` after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
const lanesOf = (body: string) => hops(body).map(([, lane]) => lane);

/** Gray and base requests through the gateway from `WORKERS` concurrent loops for `durationMs`. */
async function traffic(durationMs: number): Promise<{ ok: number; failures: string[] }> {
  const deadline = Date.now() + durationMs;
  const failures: string[] = [];
  let ok = 0;
  await Promise.all(
    Array.from({ length: WORKERS }, async (_, worker) => {
      for (let i = worker; Date.now() < deadline; i++) {
        const gray = i % 2 === 0;
        const expected = gray ? 'gray,base,gray' : 'base,base,base';
        try {
          const { status, body } = await get(demo, gray ? '/a?group=gray' : '/a');
          if (status === 200 && lanesOf(body).join() === expected) ok++;
          else failures.push(`${gray ? 'gray' : 'base'}: ${status} ${body.trim()}`);
        } catch (error) {
          failures.push(`${gray ? 'gray' : 'base'}: ${(error as Error).message}`);
        }
      }
    }),
  );
  return { ok, failures };
}

/** Polls the gateway with a gray request until `accept` holds; every answer on the way must be a 200. */
async function grayUntil(accept: (chain: Array<[string, string, string]>) => boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const { status, body } = await get(demo, '/a?group=gray');
    expect(status).toBe(200);
    if (accept(hops(body))) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`gray traffic did not change within ${timeoutMs} ms; last answer: ${body}`);
    await sleep(100);
  }
}

describe('the demo chain through a Nacos outage', () => {
  test(`r-nacos SIGKILLed under ${WORKERS} concurrent requests: not one fails, every lane stays right`, async () => {
    const killing = sleep(KILL_AFTER_MS).then(() => node.kill('SIGKILL'));
    const { ok, failures } = await traffic(TRAFFIC_MS);
    await killing;
    console.log(`${ok} requests answered, ${failures.length} failed; r-nacos was killed ${KILL_AFTER_MS} ms into ${TRAFFIC_MS} ms of traffic`);
    expect(failures.slice(0, 10)).toEqual([]);
    expect(failures).toHaveLength(0);
    expect(ok).toBeGreaterThan(WORKERS * 5); // the loop really ran, before and after the kill
  }, 30_000);

  test('a service restarted while Nacos is down routes from the failover cache', async () => {
    await demo.stop('b-base');
    const b = await demo.start('b-base');
    const direct = async (headers: Record<string, string>) => {
      const response = await fetch(`http://${b.address}/b`, { headers });
      expect(response.status).toBe(200);
      return hops(await response.text());
    };
    expect(await direct({ baggage: 'lane=gray' })).toEqual([
      ['B', 'base', b.address],
      ['C', 'gray', addressOf(demo, 'c-gray')],
    ]);
    expect(await direct({})).toEqual([
      ['B', 'base', b.address],
      ['C', 'base', addressOf(demo, 'c-base')],
    ]);
    expect(b.output()).toMatch(/serving the cached list of Nacos service DEFAULT_GROUP@@c/);
    expect(b.output()).toMatch(/is registered as soon as Nacos is back/);
  }, 60_000);

  test('r-nacos back: every instance registered again within seconds, and routing follows changes made after', async () => {
    await node.restart();
    const restartedAt = Date.now();
    const fresh = createNacosRegistry({ serverAddr: node.serverAddr, clientIp: '127.0.0.1', cacheDir: false, logger: { warn: () => {} } });
    registries.push(fresh);
    const expected = (names: string[]) => names.map((name) => addressOf(demo, name)).sort().join();
    const registered = (service: string, names: string[]) =>
      new Promise<void>((resolve) => {
        const stop = fresh.subscribe(service, (instances: readonly Instance[]) => {
          if (instances.map((i) => `${i.host}:${i.port}`).sort().join() !== expected(names)) return;
          stop();
          resolve();
        });
      });
    const everyInstance = Promise.all([
      registered('a', ['a-base', 'a-gray']),
      registered('b', ['b-base']), // the one restarted during the outage: its queued registration
      registered('c', ['c-base', 'c-gray']),
    ]);
    await within(everyInstance, 15_000, 'every instance registered again');
    const reRegisteredMs = Date.now() - restartedAt;
    console.log(`every demo instance registered again ${reRegisteredMs} ms after r-nacos was back`);

    // A reaches the restarted B once its list is live again.
    await grayUntil((chain) => chain[1]?.[2] === addressOf(demo, 'b-base'), 10_000);

    // A change made after the restart: C-gray stops, gray traffic falls back to C base.
    const stopping = demo.stop('c-gray', 'SIGTERM');
    const fellBackMs = await grayUntil((chain) => chain.map(([, lane]) => lane).join() === 'gray,base,base', 10_000);
    await stopping;
    console.log(`gray traffic fell back to C base ${fellBackMs} ms after C-gray was stopped`);
  }, 60_000);
});
