/**
 * Against one real RabbitMQ node (started in beforeAll, never skipped): the messaging contract of
 * @graylane/testing, where a topic is a fanout exchange and every lane consumer of a service has its
 * own queue bound to it (as `consumeLanes` declares them), so base and gray both receive each message
 * and the lane policy decides; then what is particular to this adapter: headers, acks and nacks, stop.
 */
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { connect } from 'amqplib';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, GetMessage } from 'amqplib';
import type { Instance } from '@graylane/core';
import { getLane, withLane } from '@graylane/context';
import { createMemoryRegistry } from '@graylane/registry';
import { describeLaneAdoptionContract, describeMessagingContract, type LaneAdoptionAdapter } from '@graylane/testing';
import { consumeLanes, publishInLane } from '../src/index.js';
import type { ConsumeLanesOptions, LaneConsumer } from '../src/index.js';
import { useRabbitmq } from './broker.js';
import { rawPublish } from './raw-amqp.js';

const manager = new AsyncLocalStorageContextManager();
beforeAll(() => context.setGlobalContextManager(manager.enable()));
afterAll(() => {
  manager.disable();
  context.disable();
});

const broker = useRabbitmq();
let port = 43000;

async function rabbitmq(): Promise<LaneAdoptionAdapter> {
  const url = broker().url;
  const connection: ChannelModel = await connect(url);
  const consumerConnections = new Set<ChannelModel>();
  const publisher: ConfirmChannel = await connection.createConfirmChannel();
  const declared = new Set<string>();
  const exchange = async (topic: string) => {
    if (declared.has(topic)) return;
    await publisher.assertExchange(topic, 'fanout', { durable: true });
    declared.add(topic);
  };
  return {
    async produce(topic, payload, lane) {
      await exchange(topic);
      publishInLane(publisher, topic, '', Buffer.from(payload), { lane });
      await publisher.waitForConfirms();
    },
    async produceRaw(topic, payload, headers) {
      await exchange(topic);
      try {
        publisher.publish(topic, '', Buffer.from(payload), { headers });
      } catch (error) {
        // amqplib does not encode a header table over 64 KiB; other clients do, and RabbitMQ delivers it.
        if (!(error instanceof RangeError)) throw error;
        await rawPublish(url, topic, '', Buffer.from(payload), headers);
        return;
      }
      await publisher.waitForConfirms();
    },
    async consume(topic, options, handler) {
      // A connection per consumer, as per process: a crash closes it. Queues outlive their
      // consumers (a lane's queue must, for base to adopt it) and expire a minute after last use.
      const own = await connect(url);
      consumerConnections.add(own);
      const channel = await own.createChannel();
      const consumer = await consumeLanes(
        channel,
        { ...options, exchange: topic, queueOptions: { durable: false, expires: 60_000 }, register: { host: '127.0.0.1', port: ++port } },
        (message) => handler(message.content.toString('utf8')),
      );
      let closed = false;
      const closeConnection = async () => {
        if (closed) return;
        closed = true;
        consumerConnections.delete(own);
        await own.close().catch(() => undefined);
      };
      return {
        async stop() {
          await consumer.stop();
          await closeConnection();
        },
        // The process dies: its connection closes (what it had not acked is requeued), its registration stays.
        crash: closeConnection,
        adopting: () => consumer.policy.adopting(),
      };
    },
    async close() {
      await Promise.all([...consumerConnections].map((c) => c.close().catch(() => undefined)));
      await connection.close();
    },
  };
}

describeMessagingContract('RabbitMQ (amqplib)', rabbitmq, { createRegistry: createMemoryRegistry, timeoutMs: 10_000, settleMs: 500, fallbackAfterMs: 1000 });
describeLaneAdoptionContract('RabbitMQ (amqplib)', rabbitmq, { createRegistry: createMemoryRegistry, timeoutMs: 10_000, settleMs: 500, fallbackAfterMs: 1000, lagMs: 1000 });

async function until(condition: () => boolean, what: string, maxMs = 10_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${maxMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('consumeLanes on RabbitMQ', () => {
  let connection: ChannelModel;
  let publisher: ConfirmChannel;
  let registry: ReturnType<typeof createMemoryRegistry>;
  let consumers: LaneConsumer[];
  let serial = 0;
  let exchange: string;
  let service: string;

  beforeEach(async () => {
    connection = await connect(broker().url);
    publisher = await connection.createConfirmChannel();
    registry = createMemoryRegistry();
    consumers = [];
    exchange = `adapter-${process.pid}-${++serial}`;
    service = `adapter-svc-${serial}`;
    await publisher.assertExchange(exchange, 'fanout', { durable: true });
  });
  afterEach(async () => {
    await Promise.all(consumers.map((c) => c.stop()));
    await connection.close();
    await registry.close();
  });

  const start = async (
    lane: string | undefined,
    handler: (message: ConsumeMessage) => unknown,
    extra: Partial<ConsumeLanesOptions> = {},
    channel?: Channel,
  ): Promise<LaneConsumer> => {
    const c = await consumeLanes(
      channel ?? (await connection.createChannel()),
      { service, lane, registry, exchange, fallbackAfterMs: 500, register: { host: '127.0.0.1', port: ++port }, ...extra },
      handler,
    );
    consumers.push(c);
    return c;
  };
  const publish = async (body: string, options: Parameters<typeof publishInLane>[4] = {}) => {
    publishInLane(publisher, exchange, '', Buffer.from(body), options);
    await publisher.waitForConfirms();
  };

  it('delivers the caller’s headers and options along with the lane; the handler runs in it', async () => {
    const seen: { message: ConsumeMessage; lane: string | undefined }[] = [];
    await start('gray', (message) => void seen.push({ message, lane: getLane() }));
    await withLane('gray', () => publish('hello', { headers: { 'x-app': 'a', 'x-count': 3, baggage: 'user=1' }, messageId: 'm-1' }));
    await until(() => seen.length === 1, 'the gray message');
    const { message, lane } = seen[0]!;
    expect(lane).toBe('gray');
    expect(message.content.toString()).toBe('hello');
    expect(message.properties.messageId).toBe('m-1');
    expect(message.properties.headers).toMatchObject({ 'x-app': 'a', 'x-count': 3, 'x-mse-tag': 'gray' });
    expect(String(message.properties.headers?.baggage)).toContain('user=1');
  });

  it('reads a lane carried in a Buffer (byte array) header', async () => {
    const seen: (string | undefined)[] = [];
    await start('gray', () => void seen.push(getLane()));
    publisher.publish(exchange, '', Buffer.from('b'), { headers: { 'x-mse-tag': Buffer.from('gray') } });
    await publisher.waitForConfirms();
    await until(() => seen.length === 1, 'the gray message');
    expect(seen).toEqual(['gray']);
  });

  it('acks what it skips: nothing is left in the gray queue for a base message', async () => {
    const gray: string[] = [];
    const channel = await connection.createChannel();
    const g = await start('gray', (m) => void gray.push(m.content.toString()), {}, channel);
    await publish('base-1', { lane: undefined });
    await publish('gray-1', { lane: 'gray' });
    await until(() => gray.length === 1, 'the gray message');
    await pause(200);
    await g.stop();
    await channel.close(); // unacknowledged deliveries would now be requeued
    const check = await publisher.checkQueue(g.queue);
    expect(check.messageCount).toBe(0);
    expect(gray).toEqual(['gray-1']);
  });

  it('a 64 KiB lane header (which amqplib will not encode, but other clients send) is handled as base', async () => {
    const seen: { body: string; lane: string | undefined }[] = [];
    await start(undefined, (m) => void seen.push({ body: m.content.toString(), lane: getLane() }));
    const huge = { 'x-mse-tag': 'gray', baggage: `lane=${'g'.repeat(64 * 1024)}` };
    expect(() => publisher.publish(exchange, '', Buffer.from('x'), { headers: huge })).toThrow(RangeError);
    await rawPublish(broker().url, exchange, '', Buffer.from('huge'), { 'x-mse-tag': 'g'.repeat(64 * 1024) });
    await until(() => seen.length === 1, 'the message with the huge header');
    expect(seen).toEqual([{ body: 'huge', lane: undefined }]);
  });

  it("a failing handler: by default ('retry-once') requeued once, then rejected to the dead-letter exchange", async () => {
    const dlx = `${exchange}.dlx`;
    await publisher.assertExchange(dlx, 'fanout', { durable: false, autoDelete: true });
    const dlq = (await publisher.assertQueue('', { exclusive: true })).queue;
    await publisher.bindQueue(dlq, dlx, '');
    const attempts: boolean[] = [];
    const errors: unknown[] = [];
    await start(
      undefined,
      (m) => {
        attempts.push(m.fields.redelivered);
        throw new Error('boom');
      },
      { queueOptions: { exclusive: true, deadLetterExchange: dlx }, onError: (e) => void errors.push(e) },
    );
    await publish('poison', { lane: undefined });
    let dead: false | GetMessage = false;
    const deadline = Date.now() + 10_000;
    while (dead === false && Date.now() < deadline) {
      dead = await publisher.get(dlq, { noAck: true });
      if (dead === false) await pause(50);
    }
    expect(dead && dead.content.toString()).toBe('poison');
    expect(attempts).toEqual([false, true]);
    expect(errors).toHaveLength(2);
    expect((errors[0] as Error).message).toBe('boom');
  });

  it("onHandlerError: 'reject' rejects at once; a function decides per failure", async () => {
    const rejected: number[] = [];
    await start(undefined, () => {
      rejected.push(1);
      throw new Error('no');
    }, { onHandlerError: 'reject', queueOptions: { exclusive: true }, onError: () => undefined });
    let tries = 0;
    await start('gray', () => {
      tries++;
      if (tries < 3) throw new Error('not yet');
    }, { onHandlerError: () => 'requeue', queueOptions: { exclusive: true }, onError: () => undefined });
    await publish('once', { lane: undefined });
    await publish('thrice', { lane: 'gray' });
    await until(() => tries === 3, 'the third attempt of the gray message');
    await pause(300);
    expect(rejected).toHaveLength(1);
    expect(tries).toBe(3);
  });

  it('stop() deregisters, stops consuming, and can delete the queue', async () => {
    const seen: string[] = [];
    const lanes: (string | undefined)[][] = [];
    const unsubscribe = registry.subscribe(service, (list: readonly Instance[]) => void lanes.push(list.map((i) => i.lane)));
    const g = await start('gray', (m) => void seen.push(m.content.toString()));
    await until(() => lanes.at(-1)?.includes('gray') === true, 'the gray consumer to register');
    await g.stop();
    await g.stop(); // idempotent
    await until(() => lanes.at(-1)?.includes('gray') === false, 'the gray consumer to deregister');
    unsubscribe();
    await publish('after-stop', { lane: 'gray' });
    await pause(300);
    expect(seen).toEqual([]);
    expect((await publisher.checkQueue(g.queue)).messageCount).toBe(1); // kept for the lane's return
    await g.stop({ deleteQueue: true });
    const probe = await connection.createChannel();
    probe.on('error', () => undefined);
    await expect(probe.checkQueue(g.queue)).rejects.toThrow(/NOT_FOUND/);
  });
});
