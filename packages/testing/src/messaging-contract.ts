/**
 * The messaging contract: the same cases run over every broker adapter (Kafka, RabbitMQ, BullMQ)
 * against its real broker. The adapter provides a factory; the suite provides the registry the lane
 * consumers register in and watch, a fresh topic per case, and the assertions.
 */
import { getLane } from '@graylane/context';
import type { Registry } from '@graylane/core';

/** A consumer the factory started; `stop` deregisters it and stops consuming. */
export interface ContractConsumer {
  stop(): Promise<void>;
}

/** Options the suite passes to {@link MessagingAdapter.consume}. */
export interface ContractConsumeOptions {
  /** The consumer service name. */
  readonly service: string;
  /** The consumer's lane; `undefined` for base. */
  readonly lane: string | undefined;
  /** The registry lane consumers register in and watch (pass it to the policy). */
  readonly registry: Registry;
  /** Pass to the policy. */
  readonly fallbackAfterMs: number;
  /** Pass to the policy. */
  readonly strict?: readonly string[];
}

/** What a broker adapter provides to the contract. */
export interface MessagingAdapter {
  /** Publishes `payload` on `topic`, stamped with `lane` (`undefined`: base, unmarked). */
  produce(topic: string, payload: string, lane?: string): Promise<void>;
  /** Publishes with raw headers, bypassing graylane's stamping (malformed-header cases). */
  produceRaw(topic: string, payload: string, headers: Record<string, string | Buffer>): Promise<void>;
  /** Starts a lane consumer; resolves once it is subscribed and will see messages produced after. */
  consume(topic: string, options: ContractConsumeOptions, handler: (payload: string) => void | Promise<void>): Promise<ContractConsumer>;
  /** Closes producers and clients. */
  close(): Promise<void>;
}

/** Options of {@link describeMessagingContract}. */
export interface MessagingContractOptions {
  /** How long a message may take to reach a consumer. Default 15000 ms (a real broker's rebalance). */
  readonly timeoutMs?: number;
  /** How long to watch for a delivery that must not come. Default 1500 ms. */
  readonly settleMs?: number;
  /** The policy's fallbackAfterMs in the cases. Default 1500 ms. */
  readonly fallbackAfterMs?: number;
  /** The registry of each case (e.g. `createMemoryRegistry` from @graylane/registry); closed after it. */
  readonly createRegistry: () => Registry;
}

let serial = 0;
const uniqueTopic = (label: string) => `contract-${label}-${process.pid}-${Date.now().toString(36)}-${++serial}`;

interface Seen {
  readonly payload: string;
  readonly lane: string | undefined;
  readonly at: number;
}

async function until(condition: () => boolean, what: string, maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${maxMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Registers the messaging contract cases under `describe(name)`. `factory` is called once per case
 * and the adapter it returns is closed after it.
 */
export function describeMessagingContract(name: string, factory: () => Promise<MessagingAdapter>, options: MessagingContractOptions): void {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const settleMs = options.settleMs ?? 1500;
  const fallbackAfterMs = options.fallbackAfterMs ?? 1500;

  describe(`messaging contract: ${name}`, () => {
    let adapter: MessagingAdapter;
    let registry: Registry;
    let consumers: ContractConsumer[] = [];
    let service: string;

    beforeEach(async () => {
      adapter = await factory();
      registry = options.createRegistry();
      service = `svc-${++serial}`;
    });
    afterEach(async () => {
      await Promise.all(consumers.map((c) => c.stop()));
      consumers = [];
      await adapter.close();
      await registry.close();
    });

    const start = async (topic: string, lane: string | undefined, seen: Seen[], strict?: readonly string[]) => {
      const c = await adapter.consume(topic, { service, lane, registry, fallbackAfterMs, ...(strict ? { strict } : {}) }, (payload) => {
        seen.push({ payload, lane: getLane(), at: Date.now() });
      });
      consumers.push(c);
      return c;
    };
    const waitLive = async (lane: string) => {
      let live = false;
      const stop = registry.subscribe(service, (list) => {
        live = list.some((i) => i.lane === lane);
      });
      try {
        await until(() => live, `the ${lane} consumer to register`, timeoutMs);
      } finally {
        stop();
      }
    };
    const waitGone = async (lane: string) => {
      let gone = false;
      const stop = registry.subscribe(service, (list) => {
        gone = !list.some((i) => i.lane === lane);
      });
      try {
        await until(() => gone, `the ${lane} consumer to deregister`, timeoutMs);
      } finally {
        stop();
      }
    };

    it('stamps the lane, and the handler runs in it', async () => {
      const topic = uniqueTopic('stamp');
      const gray: Seen[] = [];
      await start(topic, 'gray', gray);
      await adapter.produce(topic, 'g1', 'gray');
      await until(() => gray.length === 1, 'the gray message', timeoutMs);
      expect(gray[0]).toMatchObject({ payload: 'g1', lane: 'gray' });
    }, timeoutMs * 3);

    it('unmarked messages never reach a gray consumer; the gray consumer takes only gray', async () => {
      const topic = uniqueTopic('split');
      const gray: Seen[] = [];
      const base: Seen[] = [];
      await start(topic, 'gray', gray);
      await start(topic, undefined, base);
      await waitLive('gray');
      for (let i = 0; i < 5; i++) await adapter.produce(topic, `b${i}`, undefined);
      for (let i = 0; i < 5; i++) await adapter.produce(topic, `g${i}`, 'gray');
      await adapter.produce(topic, 'blue0', 'blue');
      await until(() => gray.length === 5 && base.length === 6, 'every message handled once', timeoutMs);
      await pause(settleMs);
      expect(gray.map((s) => s.payload).sort()).toEqual(['g0', 'g1', 'g2', 'g3', 'g4']);
      expect(gray.every((s) => s.lane === 'gray')).toBe(true);
      expect(base.map((s) => s.payload).sort()).toEqual(['b0', 'b1', 'b2', 'b3', 'b4', 'blue0']);
      expect(base.find((s) => s.payload === 'blue0')?.lane).toBe('blue');
      expect(base.filter((s) => s.payload.startsWith('b') && s.payload !== 'blue0').every((s) => s.lane === undefined)).toBe(true);
    }, timeoutMs * 3);

    it('gray consumer stopped: base handles gray messages, only after the bounded delay', async () => {
      const topic = uniqueTopic('fallback');
      const gray: Seen[] = [];
      const base: Seen[] = [];
      const g = await start(topic, 'gray', gray);
      await start(topic, undefined, base);
      await waitLive('gray');
      await g.stop();
      consumers = consumers.filter((c) => c !== g);
      await waitGone('gray');
      const gone = Date.now();
      await adapter.produce(topic, 'g-after', 'gray');
      await until(() => base.length === 1, 'base to take the gray message', timeoutMs + fallbackAfterMs);
      expect(base[0]).toMatchObject({ payload: 'g-after', lane: 'gray' });
      // Not before the lane's consumer had been gone fallbackAfterMs (a little slack for clock granularity).
      expect(base[0]!.at - gone).toBeGreaterThanOrEqual(fallbackAfterMs - 50);
      expect(gray).toHaveLength(0);
    }, (timeoutMs + fallbackAfterMs) * 3);

    it('a strict lane keeps its messages: base never takes them', async () => {
      const topic = uniqueTopic('strict');
      const base: Seen[] = [];
      await start(topic, undefined, base, ['gray']);
      await adapter.produce(topic, 's-gray', 'gray');
      await adapter.produce(topic, 's-base', undefined);
      await until(() => base.length >= 1, 'the base message', timeoutMs);
      await pause(fallbackAfterMs + settleMs);
      expect(base.map((s) => s.payload)).toEqual(['s-base']);
    }, timeoutMs * 3);

    it('malformed or oversized lane headers never crash the consumer: handled as base', async () => {
      const topic = uniqueTopic('malformed');
      const base: Seen[] = [];
      await start(topic, undefined, base);
      await adapter.produceRaw(topic, 'bad-tag', { 'x-mse-tag': Buffer.from([0xff, 0xfe, 0x00, 0x0a]) });
      await adapter.produceRaw(topic, 'huge-baggage', { baggage: `x-mse-tag=${'g'.repeat(64 * 1024)}` });
      await adapter.produceRaw(topic, 'junk-baggage', { baggage: ';;==,,%%%' });
      await adapter.produce(topic, 'after', undefined);
      await until(() => base.length === 4, 'all four messages', timeoutMs);
      expect(base.map((s) => s.payload).sort()).toEqual(['after', 'bad-tag', 'huge-baggage', 'junk-baggage']);
      expect(base.every((s) => s.lane === undefined)).toBe(true);
    }, timeoutMs * 3);
  });
}
