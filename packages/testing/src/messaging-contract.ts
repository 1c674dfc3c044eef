/**
 * The messaging contract: the same cases run over every broker adapter (Kafka, RabbitMQ, BullMQ)
 * against its real broker. The adapter provides a factory; the suite provides the registry the lane
 * consumers register in and watch, a fresh topic per case, and the assertions.
 */
import { getLane } from '@graylane/context';
import type { Instance, Registry } from '@graylane/core';

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
  /** Pass to the adapter's `lanes` option (base: lanes looked for at start). */
  readonly lanes?: readonly string[];
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

async function until(condition: () => boolean, what: string | (() => string), maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${maxMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The hooks of each case: a new adapter (from `factory`), registry and service name before it,
 * given to `use`; after it, the consumers `started` hands back are stopped, then the adapter and
 * the registry closed.
 */
function eachCase<A extends MessagingAdapter>(
  factory: () => Promise<A>,
  createRegistry: () => Registry,
  use: (made: { adapter: A; registry: Registry; service: string }) => void,
  started: () => readonly ContractConsumer[],
): void {
  let made: { adapter: A; registry: Registry; service: string } | undefined;
  beforeEach(async () => {
    made = { adapter: await factory(), registry: createRegistry(), service: `svc-${++serial}` };
    use(made);
  });
  afterEach(async () => {
    await Promise.all(started().map((c) => c.stop()));
    await made?.adapter.close();
    await made?.registry.close();
  });
}

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

    eachCase(factory, options.createRegistry, (made) => ({ adapter, registry, service } = made), () => {
      const all = consumers;
      consumers = [];
      return all;
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

/** A consumer of {@link describeLaneAdoptionContract}: it can also crash, and a base one tells what it adopts. */
export interface AdoptionContractConsumer extends ContractConsumer {
  /**
   * Closes the consumer's client as a crash would (Kafka: the consumer disconnects; RabbitMQ: its
   * connection closes), without deregistering it: the suite deregisters it later, as a registration
   * that expires.
   */
  crash(): Promise<void>;
  /** Base only: the lanes whose group/queue it adopts now (an adopter starting, running or stopping). */
  adopting(): readonly string[];
}

/**
 * What a broker adapter with a group or queue per lane (Kafka, RabbitMQ) provides to
 * {@link describeLaneAdoptionContract}: consumers that can crash.
 */
export interface LaneAdoptionAdapter extends MessagingAdapter {
  consume(topic: string, options: ContractConsumeOptions, handler: (payload: string) => void | Promise<void>): Promise<AdoptionContractConsumer>;
}

/** Options of {@link describeLaneAdoptionContract}. */
export interface LaneAdoptionContractOptions extends MessagingContractOptions {
  /** How late base's view of the registry is in the cases that need a lagging view. Default 1000 ms. */
  readonly lagMs?: number;
  /** How long an adopter may take to start or stop (a consumer group's join or rebalance). Default `timeoutMs`. */
  readonly adoptMs?: number;
}

/**
 * A registry whose snapshots reach the listeners `lagMs` late, as a file registry's poll or a Nacos
 * push does: base watching it keeps seeing a lane live for `lagMs` after it left.
 */
export function laggingRegistry(registry: Registry, lagMs: number): Registry {
  return {
    kind: `${registry.kind}+lag`,
    register: (r) => registry.register(r),
    deregister: (r) => registry.deregister(r),
    subscribe(service, listener) {
      let open = true;
      const timers = new Set<NodeJS.Timeout>();
      const stop = registry.subscribe(service, (list) => {
        const copy = [...list];
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (open) listener(copy);
        }, lagMs);
        timers.add(timer);
      });
      return () => {
        open = false;
        for (const timer of timers) clearTimeout(timer);
        stop();
      };
    },
    close: async () => undefined,
  };
}

/**
 * The lane adoption contract of the brokers where every lane of a service has its own copy of each
 * message (a consumer group or a queue per lane): when a lane is gone and never returns, base adopts
 * the lane's group/queue after `fallbackAfterMs`, so no lane message waits forever; it lets go when
 * the lane is back; a strict lane is never adopted.
 */
export function describeLaneAdoptionContract(name: string, factory: () => Promise<LaneAdoptionAdapter>, options: LaneAdoptionContractOptions): void {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const settleMs = options.settleMs ?? 1500;
  const fallbackAfterMs = options.fallbackAfterMs ?? 1500;
  const lagMs = options.lagMs ?? 1000;
  const adoptMs = options.adoptMs ?? timeoutMs;
  const caseMs = (timeoutMs + adoptMs + lagMs + fallbackAfterMs) * 3;

  describe(`lane adoption contract: ${name}`, () => {
    let adapter: LaneAdoptionAdapter;
    let registry: Registry;
    let consumers: AdoptionContractConsumer[] = [];
    let service: string;

    eachCase(factory, options.createRegistry, (made) => ({ adapter, registry, service } = made), () => {
      const all = consumers;
      consumers = [];
      return all;
    });

    interface StartOptions {
      readonly strict?: readonly string[];
      readonly lanes?: readonly string[];
      readonly registry?: Registry;
      /** How long the handler takes per message. */
      readonly delayMs?: number;
    }
    const start = async (topic: string, lane: string | undefined, seen: Seen[], extra: StartOptions = {}) => {
      const c = await adapter.consume(
        topic,
        { service, lane, registry: extra.registry ?? registry, fallbackAfterMs, ...(extra.strict ? { strict: extra.strict } : {}), ...(extra.lanes ? { lanes: extra.lanes } : {}) },
        async (payload) => {
          if (extra.delayMs !== undefined) await pause(extra.delayMs);
          seen.push({ payload, lane: getLane(), at: Date.now() });
        },
      );
      consumers.push(c);
      return c;
    };
    const stop = async (c: AdoptionContractConsumer) => {
      await c.stop();
      consumers = consumers.filter((x) => x !== c);
    };
    const lanesNow = async (): Promise<readonly Instance[]> => {
      let list: readonly Instance[] | undefined;
      const stopWatch = registry.subscribe(service, (l) => (list = l));
      try {
        await until(() => list !== undefined, 'a registry snapshot', timeoutMs);
      } finally {
        stopWatch();
      }
      return list ?? [];
    };
    const waitLanes = async (what: string, ok: (lanes: (string | undefined)[]) => boolean) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (ok((await lanesNow()).map((i) => i.lane))) return;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await pause(20);
      }
    };
    const waitLive = (lane: string) => waitLanes(`the ${lane} consumer to register`, (l) => l.includes(lane));
    const waitGone = (lane: string) => waitLanes(`the ${lane} consumer to deregister`, (l) => !l.includes(lane));
    const payloads = (seen: readonly Seen[]) => seen.map((s) => s.payload).sort();
    const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

    /** A gray consumer on `topic`, live, that has handled one gray message (`g0`). */
    const grayThatHandledOne = async (topic: string) => {
      const gray: Seen[] = [];
      const g = await start(topic, 'gray', gray);
      await waitLive('gray');
      await adapter.produce(topic, 'g0', 'gray');
      await until(() => gray.length === 1, 'the gray message', timeoutMs);
      return { g, gray };
    };

    it('graceful stop inside the registry\'s propagation window: every lane message produced then is handled once, by base, in the lane', async () => {
      const topic = uniqueTopic('adopt-stop');
      const gray: Seen[] = [];
      const base: Seen[] = [];
      const g = await start(topic, 'gray', gray);
      await start(topic, undefined, base, { registry: laggingRegistry(registry, lagMs) });
      await waitLive('gray');
      await pause(lagMs + 200); // base's view has it live too
      for (const id of ids('g', 3)) await adapter.produce(topic, id, 'gray');
      await until(() => gray.length === 3, 'the gray consumer to handle its first messages', timeoutMs);
      await stop(g);
      const stoppedAt = Date.now();
      // Base's view still shows gray live for lagMs: base skips its own copies of these.
      const window = ids('w', 5);
      for (const id of window) await adapter.produce(topic, id, 'gray');
      expect(Date.now() - stoppedAt).toBeLessThan(lagMs);
      await until(() => base.length >= window.length, 'base to handle the gray messages produced as gray left', lagMs + fallbackAfterMs + adoptMs + timeoutMs);
      await pause(settleMs);
      expect(payloads(base)).toEqual(window);
      expect(base.every((s) => s.lane === 'gray')).toBe(true);
      // Not before gray was gone fallbackAfterMs in base's view (it left at stoppedAt; the view lags lagMs).
      expect(Math.min(...base.map((s) => s.at)) - stoppedAt).toBeGreaterThanOrEqual(fallbackAfterMs - 50);
      expect(payloads(gray)).toEqual(ids('g', 3));
    }, caseMs);

    it('crash: the lane\'s unconsumed backlog and what is produced before its registration expires are handled by base', async () => {
      const topic = uniqueTopic('adopt-crash');
      const gray: Seen[] = [];
      const base: Seen[] = [];
      const g = await start(topic, 'gray', gray, { delayMs: 300 });
      const b = await start(topic, undefined, base);
      await waitLive('gray');
      const backlog = ids('c', 6);
      for (const id of backlog) await adapter.produce(topic, id, 'gray');
      await until(() => gray.length >= 1, 'the gray consumer to handle its first message', timeoutMs);
      const [instance] = (await lanesNow()).filter((i) => i.lane === 'gray');
      expect(instance).toBeDefined();
      await g.crash();
      // Still registered: base sees gray live and skips these.
      const meanwhile = ids('m', 3);
      for (const id of meanwhile) await adapter.produce(topic, id, 'gray');
      await adapter.produce(topic, 'b0', undefined);
      await pause(500);
      expect(b.adopting()).toEqual([]);
      // The registration expires.
      await registry.deregister({ service, host: instance!.host, port: instance!.port, lane: 'gray' });
      const handledByGray = new Set(gray.map((s) => s.payload));
      const expected = [...backlog, ...meanwhile].filter((id) => !handledByGray.has(id));
      await until(
        () => expected.every((id) => base.some((s) => s.payload === id)),
        `base to handle ${expected.join(', ')}`,
        fallbackAfterMs + adoptMs + timeoutMs,
      );
      await pause(settleMs);
      expect(base.filter((s) => s.payload === 'b0')).toEqual([expect.objectContaining({ lane: undefined })]);
      const grayByBase = base.filter((s) => s.payload !== 'b0');
      expect(grayByBase.every((s) => s.lane === 'gray')).toBe(true);
      // At least once: the message gray had in hand when it crashed may be handled twice; nothing else.
      const union = new Set([...gray, ...grayByBase].map((s) => s.payload));
      expect([...union].sort()).toEqual([...backlog, ...meanwhile].sort());
      expect(new Set(grayByBase.map((s) => s.payload)).size).toBe(grayByBase.length);
      expect(b.adopting()).toEqual(['gray']);
    }, caseMs);

    it('the lane returns: the adopter stops, the lane consumer takes its messages again, base handles none of them', async () => {
      const topic = uniqueTopic('adopt-return');
      const gray: Seen[] = [];
      const base: Seen[] = [];
      const g = await start(topic, 'gray', gray);
      const b = await start(topic, undefined, base);
      await waitLive('gray');
      await stop(g);
      await waitGone('gray');
      await adapter.produce(topic, 'r-away', 'gray');
      await until(() => base.length === 1, 'base to adopt the gray message', fallbackAfterMs + adoptMs + timeoutMs);
      expect(b.adopting()).toEqual(['gray']);
      const back: Seen[] = [];
      await start(topic, 'gray', back);
      await waitLive('gray');
      await until(() => b.adopting().length === 0, 'the adopter to stop', adoptMs + timeoutMs);
      const again = ids('r', 4);
      for (const id of again) await adapter.produce(topic, id, 'gray');
      // Two group changes in a row (the lane joins while the adopter holds the partitions, then the
      // adopter leaves): on Kafka each may wait out a rebalance timeout, so this wait allows two.
      await until(
        () => again.every((id) => back.some((s) => s.payload === id)),
        () => `the returned gray consumer to handle ${again.join(', ')}; it handled [${payloads(back).join(', ')}], base [${payloads(base).join(', ')}], adopting [${b.adopting().join(', ')}]`,
        2 * (adoptMs + timeoutMs),
      );
      await pause(settleMs);
      expect(payloads(base)).toEqual(['r-away']);
      expect(payloads(back)).toEqual(again);
      expect(back.every((s) => s.lane === 'gray')).toBe(true);
      expect(gray).toHaveLength(0);
    }, caseMs);

    it('base started after the lane died adopts its existing group/queue: the lane\'s backlog too', async () => {
      const topic = uniqueTopic('adopt-late');
      const base: Seen[] = [];
      const { g, gray } = await grayThatHandledOne(topic);
      await stop(g);
      await waitGone('gray');
      await adapter.produce(topic, 'd0', 'gray'); // no base yet: only gray's group/queue keeps it
      await start(topic, undefined, base);
      await adapter.produce(topic, 'd1', 'gray');
      await until(() => base.length >= 2, 'base to adopt the gray group/queue', fallbackAfterMs + adoptMs + timeoutMs);
      await pause(settleMs);
      expect(payloads(base)).toEqual(['d0', 'd1']);
      expect(base.every((s) => s.lane === 'gray')).toBe(true);
      expect(payloads(gray)).toEqual(['g0']);
    }, caseMs);

    it('base started after the lane\'s release ended, with `lanes` naming it, adopts the backlog though no message of the lane reaches base', async () => {
      const topic = uniqueTopic('adopt-named');
      const base: Seen[] = [];
      const { g, gray } = await grayThatHandledOne(topic);
      const [instance] = (await lanesNow()).filter((i) => i.lane === 'gray');
      expect(instance).toBeDefined();
      await g.crash(); // what follows waits in gray's own group/queue
      await adapter.produce(topic, 'k0', 'gray');
      await adapter.produce(topic, 'k1', 'gray');
      await registry.deregister({ service, host: instance!.host, port: instance!.port, lane: 'gray' }); // the registration expires
      await waitGone('gray');
      await start(topic, undefined, base, { lanes: ['gray'] });
      await until(() => base.length >= 2, 'base to adopt the named gray lane', fallbackAfterMs + adoptMs + timeoutMs);
      await pause(settleMs);
      expect(payloads(base)).toEqual(['k0', 'k1']);
      expect(base.every((s) => s.lane === 'gray')).toBe(true);
    }, caseMs);

    it('a strict lane is never adopted: its messages wait in its own group/queue for the lane', async () => {
      const topic = uniqueTopic('adopt-strict');
      const gray: Seen[] = [];
      const base: Seen[] = [];
      const g = await start(topic, 'gray', gray);
      const b = await start(topic, undefined, base, { strict: ['gray'] });
      await waitLive('gray');
      await stop(g);
      await waitGone('gray');
      await adapter.produce(topic, 's0', 'gray');
      await adapter.produce(topic, 'b0', undefined);
      await until(() => base.length >= 1, 'the base message', timeoutMs);
      await pause(fallbackAfterMs + settleMs);
      expect(b.adopting()).toEqual([]);
      expect(payloads(base)).toEqual(['b0']);
      const back: Seen[] = [];
      await start(topic, 'gray', back);
      await until(() => back.length >= 1, 'the gray consumer back to find its message', adoptMs + timeoutMs);
      expect(payloads(back)).toEqual(['s0']);
    }, caseMs);
  });
}
