/**
 * @graylane/kafka against a real Kafka 4.1.1 broker (KRaft, scripts/brokers), started once for the
 * file: the shared messaging contract (every lane group receives every record; the lane policy
 * decides who handles it), then what is Kafka's own: caller headers kept by the producer, Buffer and
 * repeated headers read, the consumer deregistered by stop(), configuration errors.
 */
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { Kafka, logLevel } from 'kafkajs';
import type { Admin, IHeaders, KafkaMessage, Producer } from 'kafkajs';
import { ErrorCode, type Registry } from '@graylane/core';
import { getLane, withLane } from '@graylane/context';
import { createMemoryRegistry } from '@graylane/registry';
import { describeLaneAdoptionContract, describeMessagingContract, type LaneAdoptionAdapter } from '@graylane/testing';
import { kafkaClusterId, startBroker } from '../../../scripts/brokers/brokers.cjs';
import type { KafkaTestBroker } from '../../../scripts/brokers/brokers.cjs';
import { laneGroupId, laneProducer, runLaneConsumer, stampMessages, toMessageHeaders } from '../src/index.js';
import type { KafkaLaneConsumer, KafkaLaneConsumerOptions } from '../src/index.js';

jest.setTimeout(120_000);

const manager = new AsyncLocalStorageContextManager();
let broker: KafkaTestBroker | undefined;

beforeAll(async () => {
  context.setGlobalContextManager(manager.enable());
  broker = await startBroker('kafka', { log: () => undefined });
}, 120_000);
afterAll(async () => {
  await broker?.stop();
  manager.disable();
  context.disable();
});

/** Test timings: a member is declared dead after 6 s (the broker's minimum), fetches return within 200 ms. */
const CONSUMER = { sessionTimeout: 6000, rebalanceTimeout: 5000, heartbeatInterval: 500, maxWaitTimeInMs: 200, retry: { initialRetryTime: 100, retries: 10 } } as const;

function client(clientId: string): Kafka {
  if (broker === undefined) throw new Error('the Kafka broker did not start');
  return new Kafka({ clientId, brokers: [broker.url], logLevel: logLevel.NOTHING, retry: { initialRetryTime: 100, retries: 10 } });
}

let port = 43000;

/** A Kafka client, an admin creating each topic (one partition) before first use, and a producer. */
async function connect(clientId: string) {
  const kafka = client(clientId);
  const admin: Admin = kafka.admin();
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false });
  await Promise.all([admin.connect(), producer.connect()]);
  const topics = new Map<string, Promise<void>>();
  const ensureTopic = (topic: string): Promise<void> => {
    let created = topics.get(topic);
    if (created === undefined) {
      created = admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true }).then(() => undefined);
      topics.set(topic, created);
    }
    return created;
  };
  const consumers = new Set<KafkaLaneConsumer>();
  const consume = async (options: Omit<KafkaLaneConsumerOptions, 'consumer' | 'register'>, handler: Parameters<typeof runLaneConsumer>[2]) => {
    await Promise.all(options.topics.map((t) => (typeof t === 'string' ? ensureTopic(t) : undefined)));
    const c = await runLaneConsumer(kafka, { ...options, consumer: CONSUMER, register: { host: '127.0.0.1', port: ++port } }, handler);
    consumers.add(c);
    return c;
  };
  const close = async () => {
    await Promise.all([...consumers].map((c) => c.stop()));
    await Promise.all([producer.disconnect(), admin.disconnect()]);
  };
  return { kafka, admin, producer, ensureTopic, consume, close };
}

async function kafkaAdapter(): Promise<LaneAdoptionAdapter> {
  const k = await connect('graylane-contract');
  const stamped = laneProducer(k.producer);
  return {
    async produce(topic, payload, lane) {
      await k.ensureTopic(topic);
      await withLane(lane, () => stamped.send({ topic, messages: [{ value: payload }] }));
    },
    async produceRaw(topic, payload, headers) {
      await k.ensureTopic(topic);
      await k.producer.send({ topic, messages: [{ value: payload, headers }] });
    },
    async consume(topic, options, handler) {
      const c = await k.consume({ ...options, topics: [topic] }, ({ message }) => handler(message.value?.toString('utf8') ?? ''));
      return {
        stop: () => c.stop(),
        // The client leaves without deregistering, as a crashed process' registration outlives it.
        crash: () => c.consumer.disconnect(),
        adopting: () => c.policy.adopting(),
      };
    },
    close: k.close,
  };
}

describeMessagingContract('Kafka 4.1.1 (kafkajs)', kafkaAdapter, { createRegistry: createMemoryRegistry, timeoutMs: 15_000, settleMs: 1000, fallbackAfterMs: 1500 });
describeLaneAdoptionContract('Kafka 4.1.1 (kafkajs)', kafkaAdapter, { createRegistry: createMemoryRegistry, timeoutMs: 15_000, settleMs: 1000, fallbackAfterMs: 1500, lagMs: 1000 });

async function until(condition: () => boolean, what: string, maxMs = 15_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${maxMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let serial = 0;
const unique = (label: string) => `kafka-${label}-${process.pid}-${Date.now().toString(36)}-${++serial}`;

describe('@graylane/kafka on the broker', () => {
  let k: Awaited<ReturnType<typeof connect>>;
  let registry: Registry;
  beforeEach(async () => {
    k = await connect('graylane-kafka');
    registry = createMemoryRegistry();
  });
  afterEach(async () => {
    await k.close();
    await registry.close();
  });

  it('laneProducer stamps the current lane and keeps every header the caller set', async () => {
    const topic = unique('headers');
    const seen: { message: KafkaMessage; lane: string | undefined }[] = [];
    await k.consume({ service: unique('svc'), lane: 'gray', registry, topics: [topic] }, ({ message }) => {
      seen.push({ message, lane: getLane() });
    });
    const producer = laneProducer(k.producer);
    const headers: IHeaders = { 'trace-id': 'abc', baggage: 'tenant=t1', bin: Buffer.from([0, 1, 2, 255]) };
    await withLane('gray', () => producer.send({ topic, messages: [{ value: 'v', headers }] }));
    await until(() => seen.length === 1, 'the gray record');
    const got = seen[0]!;
    expect(got.lane).toBe('gray');
    const h = got.message.headers!;
    expect(h['trace-id']?.toString()).toBe('abc');
    expect(h['bin']).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(h['x-mse-tag']?.toString()).toBe('gray');
    const baggage = h['baggage']!.toString().split(',').map((entry) => entry.trim());
    expect(baggage).toEqual(expect.arrayContaining(['tenant=t1', 'lane=gray']));
    // The caller's object is not modified.
    expect(headers).toEqual({ 'trace-id': 'abc', baggage: 'tenant=t1', bin: Buffer.from([0, 1, 2, 255]) });
  });

  it('reads the lane from Buffer and repeated (array) headers', async () => {
    const topic = unique('arrays');
    const gray: string[] = [];
    await k.consume({ service: unique('svc'), lane: 'gray', registry, topics: [topic] }, ({ message }) => {
      if (getLane() === 'gray') gray.push(message.value!.toString());
    });
    await k.producer.send({
      topic,
      messages: [
        { value: 'buffer', headers: { 'x-mse-tag': Buffer.from('gray') } },
        { value: 'array', headers: { 'x-mse-tag': [Buffer.from('gray')] } },
        { value: 'baggage-array', headers: { baggage: [Buffer.from('tenant=t1'), Buffer.from('lane=gray')] } },
        { value: 'base', headers: { other: [Buffer.from('x'), Buffer.from('y')] } },
      ],
    });
    await until(() => gray.length === 3, 'the three gray records');
    expect(gray).toEqual(['buffer', 'array', 'baggage-array']);
  });

  it('starts at the latest offset: what was produced before is not seen, what is produced after is', async () => {
    const topic = unique('latest');
    await k.ensureTopic(topic);
    await k.producer.send({ topic, messages: [{ value: 'before' }] });
    const seen: string[] = [];
    await k.consume({ service: unique('svc'), registry, topics: [topic] }, ({ message }) => {
      seen.push(message.value!.toString());
    });
    await k.producer.send({ topic, messages: [{ value: 'after' }] });
    await until(() => seen.length >= 1, 'the record produced after');
    await new Promise((r) => setTimeout(r, 500));
    expect(seen).toEqual(['after']);
  });

  it('commits skipped records and handled ones once the handler resolved', async () => {
    const topic = unique('commit');
    const service = unique('svc');
    const handled: string[] = [];
    const c = await k.consume({ service, lane: 'gray', registry, topics: [topic] }, async ({ message }) => {
      await new Promise((r) => setTimeout(r, 50));
      handled.push(message.value!.toString());
    });
    await k.producer.send({ topic, messages: [{ value: 'b1' }, { value: 'b2' }] });
    await withLane('gray', () => laneProducer(k.producer).send({ topic, messages: [{ value: 'g1' }] }));
    await until(() => handled.length === 1, 'the gray record');
    await c.stop();
    const [offsets] = await k.admin.fetchOffsets({ groupId: c.groupId, topics: [topic] });
    expect(offsets?.partitions).toEqual([expect.objectContaining({ partition: 0, offset: '3' })]);
    expect(handled).toEqual(['g1']);
  });

  it('keeps its group membership while a record waits longer than the session timeout', async () => {
    // Base holds a gray record for fallbackAfterMs = 7 s after the gray consumer left, past the 6 s
    // session timeout: the member heartbeats meanwhile, so it is not evicted and the record is handled once.
    const topic = unique('wait');
    const service = unique('svc');
    const base: { value: string; lane: string | undefined }[] = [];
    const gray = await k.consume({ service, lane: 'gray', registry, topics: [topic], fallbackAfterMs: 7000 }, () => undefined);
    // adopt: false, the wait of the policy without lane copies (adopting, base never waits).
    const c = await k.consume({ service, registry, topics: [topic], fallbackAfterMs: 7000, adopt: false }, ({ message }) => {
      base.push({ value: message.value!.toString(), lane: getLane() });
    });
    let joins = 0;
    c.consumer.on(c.consumer.events.GROUP_JOIN, () => joins++);
    await gray.stop();
    const gone = Date.now();
    await withLane('gray', () => laneProducer(k.producer).send({ topic, messages: [{ value: 'late' }] }));
    await until(() => base.length === 1, 'base to take the gray record', 20_000);
    expect(Date.now() - gone).toBeGreaterThanOrEqual(6900);
    await c.stop();
    expect(base).toEqual([{ value: 'late', lane: 'gray' }]);
    // Still the same member (an evicted one rejoins) and the record committed (an evicted one's commit fails).
    expect(joins).toBe(0);
    const [offsets] = await k.admin.fetchOffsets({ groupId: c.groupId, topics: [topic] });
    expect(offsets?.partitions).toEqual([expect.objectContaining({ partition: 0, offset: '1' })]);
  }, 40_000);

  it('a handler that throws gets the record redelivered, in its lane again', async () => {
    const topic = unique('redeliver');
    const attempts: { value: string; lane: string | undefined }[] = [];
    const c = await k.consume({ service: unique('svc'), lane: 'gray', registry, topics: [topic] }, ({ message }) => {
      attempts.push({ value: message.value!.toString(), lane: getLane() });
      if (attempts.length === 1) throw new Error('first attempt fails');
    });
    await withLane('gray', () => laneProducer(k.producer).send({ topic, messages: [{ value: 'g1' }] }));
    await until(() => attempts.length === 2, 'the redelivery');
    expect(attempts).toEqual([
      { value: 'g1', lane: 'gray' },
      { value: 'g1', lane: 'gray' },
    ]);
    await c.stop();
    const [offsets] = await k.admin.fetchOffsets({ groupId: c.groupId, topics: [topic] });
    expect(offsets?.partitions).toEqual([expect.objectContaining({ partition: 0, offset: '1' })]);
  });

  it('a failed registration fails the start, even with a record already delivered, and leaves the group', async () => {
    const topic = unique('failed-start');
    await k.ensureTopic(topic);
    await k.producer.send({ topic, messages: [{ value: 'early' }] });
    const failing: Registry = {
      ...registry,
      subscribe: registry.subscribe.bind(registry),
      register: async () => {
        // Long enough for the early record to be fetched and wait for the policy.
        await new Promise((r) => setTimeout(r, 1500));
        throw new Error('registry unavailable');
      },
    };
    const handled: string[] = [];
    const service = unique('svc');
    const started = Date.now();
    await expect(
      runLaneConsumer(k.kafka, { service, registry: failing, topics: [topic], fromBeginning: true, consumer: CONSUMER }, ({ message }) => {
        handled.push(message.value!.toString());
      }),
    ).rejects.toThrow('registry unavailable');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(handled).toEqual([]);
    const groups = await k.admin.describeGroups([laneGroupId(service, undefined)]);
    expect(groups.groups[0]?.members).toHaveLength(0);
  });

  it('registers while running; stop() deregisters, disconnects and is idempotent', async () => {
    const service = unique('svc');
    let lanes: (string | undefined)[] = [];
    const unsubscribe = registry.subscribe(service, (list) => (lanes = list.map((i) => i.lane)));
    try {
      const c = await k.consume({ service, lane: 'gray', registry, topics: [unique('stop')] }, () => undefined);
      expect(c.groupId).toBe(`${service}.gray`);
      await until(() => lanes.includes('gray'), 'the gray consumer to register');
      await Promise.all([c.stop(), c.stop()]);
      await until(() => !lanes.includes('gray'), 'the gray consumer to deregister');
      const groups = await k.admin.describeGroups([c.groupId]);
      expect(groups.groups[0]?.members).toHaveLength(0);
    } finally {
      unsubscribe();
    }
  });
});

describe('@graylane/kafka without a broker', () => {
  it("the test broker's cluster ids never start with '-' (kafka-storage reads such an id as an option)", () => {
    // One random id in 64 starts with '-': without the check, 4,096 of them all pass about 1e-28 of the time.
    const ids = Array.from({ length: 4096 }, () => kafkaClusterId());
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  });

  it('laneGroupId: <service> for base, <service>.<lane> for a lane', () => {
    expect(laneGroupId('orders', undefined)).toBe('orders');
    expect(laneGroupId('orders', 'base')).toBe('orders');
    expect(laneGroupId('orders', 'gray')).toBe('orders.gray');
  });

  it('stampMessages copies, stamps the lane, and base removes the carriers', () => {
    const messages = [{ value: 'a', headers: { 'x-mse-tag': 'old', keep: 'me' } }];
    const gray = stampMessages(messages, { lane: 'gray' });
    expect(gray[0]!.headers).toMatchObject({ 'x-mse-tag': 'gray', keep: 'me', baggage: 'lane=gray' });
    expect(messages[0]!.headers).toEqual({ 'x-mse-tag': 'old', keep: 'me' });
    expect(stampMessages(gray, { lane: 'base' })[0]!.headers).toEqual({ keep: 'me' });
    expect(withLane('blue', () => stampMessages([{ value: 'b' }]))[0]!.headers).toMatchObject({ 'x-mse-tag': 'blue' });
  });

  it('toMessageHeaders decodes Buffers and arrays, drops what is absent or oversized, never throws', () => {
    expect(toMessageHeaders(undefined)).toEqual({});
    expect(toMessageHeaders({ a: Buffer.from('x'), b: [Buffer.from('1'), '2'], c: undefined, d: [] })).toEqual({ a: 'x', b: ['1', '2'] });
    expect(toMessageHeaders({ big: Buffer.alloc(64 * 1024, 0x67) })).toEqual({});
    const hostile = Object.defineProperty({}, 'x', { enumerable: true, get: () => { throw new Error('boom'); } }) as IHeaders;
    expect(() => toMessageHeaders(hostile)).not.toThrow();
  });

  it('rejects invalid options with GRAYLANE_ERR_CONFIG_INVALID and the option path', async () => {
    const kafka = new Kafka({ brokers: ['127.0.0.1:1'], logLevel: logLevel.NOTHING });
    const registry = createMemoryRegistry();
    const run = (options: Partial<KafkaLaneConsumerOptions>) =>
      runLaneConsumer(kafka, { service: 'svc', registry, topics: ['t'], ...options } as KafkaLaneConsumerOptions, () => undefined);
    await expect(run({ topics: [] })).rejects.toMatchObject({ code: ErrorCode.CONFIG_INVALID, details: { path: 'kafka.consumer(svc).topics' } });
    await expect(run({ lane: 'not a lane!' })).rejects.toMatchObject({ code: ErrorCode.CONFIG_INVALID, details: { path: 'messaging.consumer(svc).lane' } });
    await expect(run({ groupId: () => '' })).rejects.toMatchObject({ code: ErrorCode.CONFIG_INVALID, details: { path: 'kafka.consumer(svc).groupId' } });
    await expect(run({ service: '' })).rejects.toMatchObject({ code: ErrorCode.CONFIG_INVALID });
    await expect(run({ adopt: 'yes' as unknown as boolean })).rejects.toMatchObject({ code: ErrorCode.CONFIG_INVALID, details: { path: 'kafka.consumer(svc).adopt' } });
    await registry.close();
  });
});
