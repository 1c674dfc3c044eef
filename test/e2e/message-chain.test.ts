/**
 * Lanes survive a message hop, end to end, on real processes and real brokers (issue #17, item 1).
 * For each broker (Kafka 4.1.1, RabbitMQ, Redis with BullMQ), started once for the file
 * (scripts/brokers):
 *
 *   HTTP request -> P (Express, graylane middleware; produces with the adapter's producer helper)
 *     -> broker -> Q base | Q gray (the adapter's lane consumer; GRAYLANE_LANE=gray for the gray one)
 *     -> HTTP (@graylane/axios) -> C base | C gray (the demo's service.js)
 *
 * Every process is a child process on the built packages (test/e2e/message-chain/service.mjs, and
 * examples/demo/dist/service.js for C), all on one file registry. Each Q reports every message it
 * handled to a collector in this process: the id, Q's lane, the lane the handler ran in, and the
 * lane of the C instance that answered. Asserted per broker:
 *
 * 1. a gray request to P: handled by Q gray only, which called C gray;
 * 2. an unmarked request: handled by Q base only, which called C base; Q gray never handles one;
 * 3. Q gray stopped (SIGTERM: it deregisters): once Q base's lane policy sees it gone, a gray
 *    message is handled by Q base after the fallback delay (FALLBACK_MS), in lane gray, so it
 *    calls C gray (Kafka and RabbitMQ: Q base adopts gray's group / queue once gray has been gone
 *    FALLBACK_MS; BullMQ: Q base drains gray's queue);
 * 4. nothing lost, nothing twice: every message is handled exactly once (Kafka and RabbitMQ hand a
 *    copy to every lane's group / queue and the lane policy lets one consumer handle it; BullMQ
 *    routes each job to one lane's queue, and base drains a lane queue without a live worker).
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker } from '../../scripts/brokers/brokers.cjs';
import type { BrokerKind, TestBroker } from '../../scripts/brokers/brokers.cjs';

jest.setTimeout(120_000);

const SERVICE = join(__dirname, 'message-chain', 'service.mjs');
const DEMO_SERVICE = join(__dirname, '..', '..', 'examples', 'demo', 'dist', 'service.js');
/** The fallback delay of every lane consumer and of the BullMQ producer. */
const FALLBACK_MS = 1000;
/** How long to keep listening after the last expected message, to catch a late duplicate. */
const QUIET_MS = 1500;
const READY_MS = 60_000;

type Broker = 'kafka' | 'rabbitmq' | 'bullmq';
const KIND: Record<Broker, BrokerKind> = { kafka: 'kafka', rabbitmq: 'rabbitmq', bullmq: 'redis' };

/** What a Q reported for one message it handled. */
interface Handled {
  readonly broker: Broker;
  readonly id: string;
  /** Q's own lane. */
  readonly q: string;
  /** The lane the handler ran in. */
  readonly ranIn: string;
  /** The lane of the C instance that answered, and its address. */
  readonly c: string;
  readonly cAddress: string;
  readonly pid: number;
  readonly at: number;
}

interface Child {
  readonly name: string;
  readonly child: ChildProcess;
  readonly port: number | undefined;
  readonly address: string | undefined;
  /** The last live lanes its lane policy reported, and when. */
  live: { lanes: string[]; at: number };
  output(): string;
}

const children = new Set<ChildProcess>();
const brokers = new Map<Broker, TestBroker>();
const handled: Handled[] = [];
let collector: Server;
let collectorUrl: string;
let registryDir: string;
const c: Record<'base' | 'gray', Child | undefined> = { base: undefined, gray: undefined };

function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, GRAYLANE_REGISTRY_DIR: registryDir, GRAYLANE_STARTUP_LOG: 'off' };
  for (const name of ['GRAYLANE_LANE', 'MSE_ALICLOUD_SERVICE_TAG', 'alicloud.service.tag', 'traffic.opensergo.io/label', 'NACOS_SERVER_ADDR', 'GRAYLANE_LANES_FILE', 'GRAYLANE_LANES_DATA_ID']) {
    delete env[name];
  }
  return env;
}

/** Forks `script` and resolves once it says it is ready over IPC. */
function start(name: string, script: string, env: NodeJS.ProcessEnv): Promise<Child> {
  const child = fork(script, [], { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: [] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
    if (process.env['GRAYLANE_TEST_VERBOSE']) process.stdout.write(`[${name}] ${chunk.toString()}`);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} was not ready within ${READY_MS} ms\n--- ${name} ---\n${output}`));
    }, READY_MS);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited before it was ready (code ${code}, signal ${signal})\n--- ${name} ---\n${output}`));
    });
    let proc: Child | undefined;
    let pendingLive = { lanes: [] as string[], at: 0 };
    child.on('message', (message: { ready?: boolean; port?: number; address?: string; live?: string[]; at?: number }) => {
      if (message.live !== undefined) {
        const live = { lanes: message.live, at: message.at ?? Date.now() };
        if (proc) proc.live = live;
        else pendingLive = live;
      }
      if (!message.ready) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.once('exit', () => children.delete(child));
      proc = { name, child, port: message.port, address: message.address, live: pendingLive, output: () => output };
      resolve(proc);
    });
  });
}

/** SIGTERM (SIGKILL after 5 s); resolves when it exited, with its exit code. */
function stop(proc: Child | undefined): Promise<number | null> {
  return new Promise((resolve) => {
    if (!proc) return resolve(null);
    const { child } = proc;
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    child.kill('SIGTERM');
  });
}

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs: number, diagnostics: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${diagnostics()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The records of `ids` once each has at least one, after QUIET_MS more to catch duplicates. */
async function handledOnce(broker: Broker, ids: readonly string[], diagnostics: () => string): Promise<Map<string, Handled[]>> {
  const of = () => {
    const byId = new Map<string, Handled[]>(ids.map((id) => [id, []]));
    for (const h of handled) if (h.broker === broker && byId.has(h.id)) byId.get(h.id)!.push(h);
    return byId;
  };
  await until(`${broker}: ${ids.join(', ')} handled`, () => [...of().values()].every((list) => list.length > 0), 30_000, () => `handled: ${JSON.stringify(handled.filter((h) => h.broker === broker))}\n${diagnostics()}`);
  await new Promise((r) => setTimeout(r, QUIET_MS));
  return of();
}

async function produce(p: Child, id: string, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${p.port}/produce?id=${encodeURIComponent(id)}`, { headers });
  const body = (await response.json()) as { lane?: string; error?: string };
  if (response.status !== 200) throw new Error(`P answered ${response.status} for ${id}: ${JSON.stringify(body)}`);
  return body.lane ?? '';
}

beforeAll(async () => {
  registryDir = mkdtempSync(join(tmpdir(), 'graylane-message-chain-'));
  collector = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      handled.push(JSON.parse(body) as Handled);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  collectorUrl = `http://127.0.0.1:${(collector.address() as { port: number }).port}/handled`;

  const started = (Object.keys(KIND) as Broker[]).map(async (broker) => {
    brokers.set(broker, await startBroker(KIND[broker], { log: () => undefined }));
  });
  const demo = (lane: 'base' | 'gray') =>
    start(`c-${lane}`, DEMO_SERVICE, { ...baseEnv(), SERVICE: 'c', NEXT: '', GRAYLANE_LANE: lane === 'base' ? '' : lane }).then((proc) => {
      c[lane] = proc;
    });
  const results = await Promise.allSettled([...started, demo('base'), demo('gray')]);
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length > 0) throw new Error(failed.map((f) => String(f.reason)).join('\n'));
}, 180_000);

afterAll(async () => {
  await Promise.all([...children].map((child) => stop({ child } as Child)));
  await Promise.allSettled([...brokers.values()].map((b) => b.stop()));
  await new Promise<void>((resolve) => (collector ? collector.close(() => resolve()) : resolve()));
  if (registryDir) rmSync(registryDir, { recursive: true, force: true });
});

describe.each(['kafka', 'rabbitmq', 'bullmq'] as const)('%s', (broker) => {
  test('a message keeps its lane through the broker to Q and on to C; base takes a stopped lane only after the fallback delay; none lost or doubled', async () => {
    const b = brokers.get(broker)!;
    const qService = `q-${broker}`;
    const common = { ...baseEnv(), BROKER: broker, BROKER_URL: b.url, SERVICE: qService, CHANNEL: `chain-${broker}`, FALLBACK_MS: String(FALLBACK_MS), COLLECTOR: collectorUrl };
    const procs: Child[] = [];
    const diagnostics = () => procs.map((p) => `--- ${p.name} ---\n${p.output()}`).join('\n') + `\n--- broker ---\n${b.tail()}`;
    try {
      // P first: it creates the Kafka topic the consumers subscribe to.
      const p = await start(`p-${broker}`, SERVICE, { ...common, ROLE: 'p', SERVICE: `p-${broker}`, TARGET: qService });
      procs.push(p);
      const qBase = await start(`q-${broker}-base`, SERVICE, { ...common, ROLE: 'q', GRAYLANE_LANE: '' });
      procs.push(qBase);
      const qGray = await start(`q-${broker}-gray`, SERVICE, { ...common, ROLE: 'q', GRAYLANE_LANE: 'gray' });
      procs.push(qGray);
      // Q base must see Q gray live before the first gray message, or it would rightly take it.
      await until(`${broker}: Q base sees Q gray live`, () => qBase.live.lanes.includes('gray'), 10_000, diagnostics);
      if (broker === 'bullmq') await until('bullmq: P sees Q gray live', () => p.live.lanes.includes('gray'), 10_000, diagnostics);

      // (1) and (2): gray and unmarked requests, interleaved.
      const gray = ['g1', 'g2', 'g3', 'g4', 'g5'];
      const base = ['b1', 'b2', 'b3', 'b4', 'b5'];
      for (let i = 0; i < gray.length; i++) {
        expect(await produce(p, gray[i]!, { 'x-mse-tag': 'gray' })).toBe('gray');
        expect(await produce(p, base[i]!)).toBe('base');
      }
      const steady = await handledOnce(broker, [...gray, ...base], diagnostics);
      for (const id of gray) {
        expect({ id, records: steady.get(id)!.map((h) => [h.q, h.ranIn, h.c, h.cAddress]) }).toEqual({ id, records: [['gray', 'gray', 'gray', c.gray!.address]] });
        expect(steady.get(id)![0]!.pid).toBe(qGray.child.pid);
      }
      for (const id of base) {
        expect({ id, records: steady.get(id)!.map((h) => [h.q, h.ranIn, h.c, h.cAddress]) }).toEqual({ id, records: [['base', 'base', 'base', c.base!.address]] });
        expect(steady.get(id)![0]!.pid).toBe(qBase.child.pid);
      }

      // (3): Q gray stops (it deregisters); FALLBACK_MS after Q base saw it gone, Q base takes gray's
      // messages in lane gray (Kafka, RabbitMQ: from gray's own group / queue, which it adopts).
      const stoppedAt = Date.now();
      expect(await stop(qGray)).toBe(0);
      const exitedAt = Date.now();
      // Produce once Q base's policy no longer lists gray, so that the delay is measured from then (a
      // gray message produced earlier is skipped by Q base and handled by its adopter all the same).
      await until(`${broker}: Q base sees Q gray gone`, () => !qBase.live.lanes.includes('gray'), 10_000, diagnostics);
      const goneAt = qBase.live.at;
      const fallback = ['f1', 'f2', 'f3'];
      for (const id of fallback) expect(await produce(p, id, { 'x-mse-tag': 'gray' })).toBe('gray');
      expect(await produce(p, 'b6')).toBe('base');
      const after = await handledOnce(broker, [...fallback, 'b6'], diagnostics);
      for (const id of fallback) {
        expect({ id, records: after.get(id)!.map((h) => [h.q, h.ranIn, h.c, h.cAddress]) }).toEqual({ id, records: [['base', 'gray', 'gray', c.gray!.address]] });
        expect(after.get(id)![0]!.pid).toBe(qBase.child.pid);
      }
      expect(after.get('b6')!.map((h) => [h.q, h.ranIn, h.c])).toEqual([['base', 'base', 'base']]);
      const firstFallback = Math.min(...fallback.map((id) => after.get(id)![0]!.at));
      // Not before the lane's consumer was gone for FALLBACK_MS: it deregistered after the SIGTERM.
      expect(firstFallback - stoppedAt).toBeGreaterThanOrEqual(FALLBACK_MS);
      expect(firstFallback - stoppedAt).toBeLessThan(FALLBACK_MS + 10_000);
      // Nor before FALLBACK_MS after Q base saw it gone (its report comes up to 50 ms after the policy's snapshot).
      expect(firstFallback - goneAt).toBeGreaterThanOrEqual(FALLBACK_MS - 100);
      expect(qBase.live.lanes).not.toContain('gray');

      // (4): exactly once, over the whole run; and Q gray never handled an unmarked message.
      const mine = handled.filter((h) => h.broker === broker);
      const ids = [...gray, ...base, ...fallback, 'b6'];
      expect(mine.map((h) => h.id).sort()).toEqual([...ids].sort());
      expect(mine.filter((h) => h.q === 'gray' && h.ranIn !== 'gray')).toEqual([]);

      console.log(
        `message-chain ${broker}: ${ids.length} messages, each handled once; gray -> Q gray -> C gray, base -> Q base -> C base; ` +
          `Q gray stop took ${exitedAt - stoppedAt} ms, Q base saw it gone ${goneAt - stoppedAt} ms after SIGTERM, ` +
          `first gray message handled by Q base in gray ${firstFallback - stoppedAt} ms after SIGTERM, ${firstFallback - goneAt} ms after it saw Q gray gone (fallbackAfterMs ${FALLBACK_MS})`,
      );
    } finally {
      await Promise.all(procs.map((proc) => stop(proc)));
    }
  });
});
