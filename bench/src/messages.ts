/**
 * What graylane adds per message on the three broker adapters.
 *
 * - stamp (pure CPU, no broker): the producer-side stamping of one message in the gray lane, against
 *   the same copy without graylane. kafka: `stampMessages([message])` vs copying the message and its
 *   headers; rabbitmq: `laneMessageOptions(options)` vs copying the options and their headers;
 *   bullmq: `laneJobOptions(opts)` vs copying the job options. Interleaved tinybench rounds, medians.
 * - consume (a real broker, scripts/brokers): N messages stamped gray (same body, same headers) are
 *   consumed by the plain client and by graylane's base lane consumer (default carriers, memory
 *   registry, no gray consumer live, so base handles them in the gray lane), alternating rounds on the
 *   same broker, each round on a queue of its own (Kafka: a group of its own), filled before it starts. Per round
 *   and variant: the median gap between two consecutive handled messages (what one message costs
 *   while the consumer is busy, robust to pauses between fetches and to other processes on the
 *   machine), and the mean, (last handled − first handled) / (N − 1), with those pauses. The figure
 *   is the median over rounds of graylane's median gap minus the plain client's in the same round;
 *   the range of those differences, and the same from the means, are reported with it.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ROOT_CONTEXT, context } from '@opentelemetry/api';
import { connect } from 'amqplib';
import { Queue, Worker } from 'bullmq';
import { Kafka, logLevel } from 'kafkajs';
import { laneMessageOptions, consumeLanes } from '@graylane/amqp';
import { laneJobOptions, laneWorker } from '@graylane/bullmq';
import { ensureContextManager, setLane } from '@graylane/context';
import { runLaneConsumer, stampMessages } from '@graylane/kafka';
import { createMemoryRegistry } from '@graylane/registry';
import { Bench } from 'tinybench';
import { median, nsPerOperation } from './rounds.js';
import type { Row, Suite } from './suites.js';

type Brokers = typeof import('../../scripts/brokers/brokers.cjs');
type TestBroker = import('../../scripts/brokers/brokers.cjs').TestBroker;
type Message = Parameters<typeof stampMessages>[0][number];

/** Operations per tinybench iteration, well above the timer's resolution. */
const BATCH = 1_000;

export type Broker = 'kafka' | 'rabbitmq' | 'bullmq';
export const BROKER_NAMES: readonly Broker[] = ['kafka', 'rabbitmq', 'bullmq'];

export interface StampResult {
  /** ns per message with graylane's stamping. */
  readonly stampNs: number;
  /** ns per message of the copy alone (what a producer does anyway). */
  readonly baseNs: number;
}

export interface ConsumeResult {
  /** Median over rounds of (graylane − plain) median gap between two handled messages, µs. */
  readonly addedUs: number;
  /** Smallest and largest per-round difference of median gaps, µs. */
  readonly addedMinUs: number;
  readonly addedMaxUs: number;
  /** Median over rounds of the median gap of the plain client and of graylane's consumer, µs. */
  readonly plainUs: number;
  readonly graylaneUs: number;
  /** The same from the mean time per message of each round (fetch pauses and preemption included). */
  readonly addedMeanUs: number;
  readonly addedMeanMinUs: number;
  readonly addedMeanMaxUs: number;
  readonly plainMeanUs: number;
  readonly graylaneMeanUs: number;
  readonly messages: number;
  readonly rounds: number;
}

function loadBrokers(distDir: string): Brokers {
  return createRequire(import.meta.url)(join(distDir, '..', '..', 'scripts', 'brokers', 'brokers.cjs')) as Brokers;
}

// ---------------------------------------------------------------------------------------------- stamp

export async function benchStamp(options: { rounds: number; timeMs: number }): Promise<Record<Broker, StampResult>> {
  ensureContextManager();
  const gray = setLane(ROOT_CONTEXT, 'gray');
  let sink = 0;

  const message: Message = {
    key: 'order-42',
    value: '{"orderId":42,"amount":1999,"currency":"EUR"}',
    headers: { 'content-type': 'application/json', 'x-request-id': '0af7651916cd43dd', 'x-source': 'orders' },
  };
  const publish = { persistent: true, contentType: 'application/json', headers: { 'x-request-id': '0af7651916cd43dd', 'x-source': 'orders' } };
  const jobOpts = { attempts: 3, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: 1000 };

  // Check each variant stamps before timing it.
  context.with(gray, () => {
    const k = stampMessages([message])[0]!.headers as Record<string, unknown>;
    const r = laneMessageOptions(publish).headers as Record<string, unknown>;
    const b = laneJobOptions(jobOpts).graylane as Record<string, unknown> | undefined;
    if (k['x-mse-tag'] !== 'gray' || k['x-source'] !== 'orders' || r['x-mse-tag'] !== 'gray' || b?.['x-mse-tag'] !== 'gray') {
      throw new Error(`stamp bench is misconfigured: ${JSON.stringify({ k, r, b })}`);
    }
  });

  const inGray = (fn: () => void) => () => context.with(gray, fn);
  const bench = new Bench({ time: options.timeMs, warmupTime: 100 });
  bench
    .add('kafka: stampMessages', inGray(() => {
      for (let i = 0; i < BATCH; i++) sink += stampMessages([message]).length;
    }))
    .add('kafka: copy', inGray(() => {
      for (let i = 0; i < BATCH; i++) sink += [message].map((m) => ({ ...m, headers: { ...m.headers } })).length;
    }))
    .add('rabbitmq: laneMessageOptions', inGray(() => {
      for (let i = 0; i < BATCH; i++) sink += laneMessageOptions(publish).persistent ? 1 : 0;
    }))
    .add('rabbitmq: copy', inGray(() => {
      for (let i = 0; i < BATCH; i++) sink += { ...publish, headers: { ...publish.headers } }.persistent ? 1 : 0;
    }))
    .add('bullmq: laneJobOptions', inGray(() => {
      for (let i = 0; i < BATCH; i++) sink += laneJobOptions(jobOpts).attempts;
    }))
    .add('bullmq: copy', inGray(() => {
      for (let i = 0; i < BATCH; i++) sink += { ...jobOpts }.attempts;
    }));

  const ns = await nsPerOperation(bench, options.rounds, BATCH);
  if (sink === 0) throw new Error('benchmark work was optimised away');
  return {
    kafka: { stampNs: ns('kafka: stampMessages'), baseNs: ns('kafka: copy') },
    rabbitmq: { stampNs: ns('rabbitmq: laneMessageOptions'), baseNs: ns('rabbitmq: copy') },
    bullmq: { stampNs: ns('bullmq: laneJobOptions'), baseNs: ns('bullmq: copy') },
  };
}

// -------------------------------------------------------------------------------------------- consume

/** One round of one variant: µs per message, as the mean over the round and as the median gap. */
interface Timing {
  /** (last handled − first handled) / (N − 1): everything, fetch pauses and preemption included. */
  readonly meanUs: number;
  /** The median time between two consecutive handled messages: robust to pauses between fetches and to other processes. */
  readonly gapUs: number;
}

/** Call `seen()` in each handler; `done` resolves with the round's timing once `n` were seen. */
function counter(n: number, timeoutMs: number, what: string) {
  const at = new Float64Array(n);
  let count = 0;
  let resolve!: (timing: Timing) => void;
  let reject!: (error: Error) => void;
  const done = new Promise<Timing>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const timer = setTimeout(() => reject(new Error(`${what}: ${count}/${n} messages within ${timeoutMs} ms`)), timeoutMs);
  const seen = (): void => {
    if (count >= n) return;
    at[count++] = performance.now();
    if (count === n) {
      clearTimeout(timer);
      const gaps = Array.from({ length: n - 1 }, (_, i) => at[i + 1]! - at[i]!);
      resolve({ meanUs: ((at[n - 1]! - at[0]!) * 1000) / (n - 1), gapUs: median(gaps) * 1000 });
    }
  };
  return { seen, done };
}

/** A round of one variant: fills, consumes `n` messages, cleans up; resolves its timing. */
type Round = (variant: 'plain' | 'graylane', round: number) => Promise<Timing>;

async function alternate(rounds: number, n: number, run: Round, log: (line: string) => void, name: string): Promise<ConsumeResult> {
  const t: Record<'plain' | 'graylane', Timing[]> = { plain: [], graylane: [] };
  for (let r = 0; r < rounds; r++) {
    // Alternate which variant goes first, so neither always meets a warmer broker.
    const order = r % 2 === 0 ? (['plain', 'graylane'] as const) : (['graylane', 'plain'] as const);
    for (const variant of order) t[variant].push(await run(variant, r));
    const [p, g] = [t.plain[r]!, t.graylane[r]!];
    log(`${name} round ${r + 1}/${rounds}: median gap plain ${p.gapUs.toFixed(2)} µs, graylane ${g.gapUs.toFixed(2)} µs; mean plain ${p.meanUs.toFixed(2)} µs, graylane ${g.meanUs.toFixed(2)} µs`);
  }
  const diffs = (k: keyof Timing) => t.graylane.map((g, i) => g[k] - t.plain[i]![k]);
  const of = (v: 'plain' | 'graylane', k: keyof Timing) => median(t[v].map((x) => x[k]));
  return {
    addedUs: median(diffs('gapUs')),
    addedMinUs: Math.min(...diffs('gapUs')),
    addedMaxUs: Math.max(...diffs('gapUs')),
    plainUs: of('plain', 'gapUs'),
    graylaneUs: of('graylane', 'gapUs'),
    addedMeanUs: median(diffs('meanUs')),
    addedMeanMinUs: Math.min(...diffs('meanUs')),
    addedMeanMaxUs: Math.max(...diffs('meanUs')),
    plainMeanUs: of('plain', 'meanUs'),
    graylaneMeanUs: of('graylane', 'meanUs'),
    messages: n,
    rounds,
  };
}

const BODY = Buffer.from(JSON.stringify({ orderId: 42, amount: 1999, currency: 'EUR', note: 'x'.repeat(60) }));
const TIMEOUT_MS = 60_000;

async function consumeKafka(broker: TestBroker, n: number, rounds: number, log: (line: string) => void): Promise<ConsumeResult> {
  const kafka = new Kafka({ clientId: 'graylane-bench', brokers: [broker.url], logLevel: logLevel.NOTHING, retry: { initialRetryTime: 100, retries: 10 } });
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await Promise.all([admin.connect(), producer.connect()]);
  const topic = `bench-messages-${process.pid}`;
  const consumerConfig = { sessionTimeout: 6000, rebalanceTimeout: 5000, heartbeatInterval: 500, maxWaitTimeInMs: 100, retry: { initialRetryTime: 100, retries: 10 } };
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
    // One topic holding N gray records; each round reads it from the beginning in a group of its own.
    const stamped = context.with(setLane(ROOT_CONTEXT, 'gray'), () => stampMessages(Array.from({ length: n }, (_, i) => ({ key: String(i), value: BODY }))));
    for (let i = 0; i < n; i += 500) await producer.send({ topic, messages: stamped.slice(i, i + 500) });
    let sink = 0;
    return await alternate(rounds, n, async (variant, r) => {
      const c = counter(n, TIMEOUT_MS, `kafka ${variant}`);
      const groupId = `bench-${variant}-${r}-${process.pid}`;
      if (variant === 'plain') {
        const consumer = kafka.consumer({ ...consumerConfig, groupId });
        await consumer.connect();
        await consumer.subscribe({ topics: [topic], fromBeginning: true });
        await consumer.run({
          eachMessage: async ({ message }) => {
            sink += message.value?.length ?? 0;
            c.seen();
          },
        });
        try {
          return await c.done;
        } finally {
          await consumer.disconnect();
        }
      }
      const registry = createMemoryRegistry();
      const consumer = await runLaneConsumer(kafka, { service: 'bench', registry, topics: [topic], groupId, fromBeginning: true, consumer: consumerConfig }, async ({ message }) => {
        sink += message.value?.length ?? 0;
        c.seen();
      });
      try {
        return await c.done;
      } finally {
        await consumer.stop();
        await registry.close();
      }
    }, log, 'kafka').finally(() => {
      if (sink === 0) log('kafka: no message seen');
    });
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await Promise.all([producer.disconnect(), admin.disconnect()]);
  }
}

async function consumeRabbitmq(broker: TestBroker, n: number, rounds: number, log: (line: string) => void): Promise<ConsumeResult> {
  const connection = await connect(broker.url);
  const publisher = await connection.createConfirmChannel();
  const exchange = `bench-messages-${process.pid}`;
  await publisher.assertExchange(exchange, 'fanout', { durable: false, autoDelete: false });
  const headers = context.with(setLane(ROOT_CONTEXT, 'gray'), () => laneMessageOptions({}).headers);
  const prefetch = 10;
  let sink = 0;
  try {
    return await alternate(rounds, n, async (variant, r) => {
      // A queue of its own per round, filled with N gray messages before anyone consumes it.
      const queue = `bench-${variant}-${r}-${process.pid}`;
      const queueOptions = { durable: false, autoDelete: false };
      await publisher.assertQueue(queue, queueOptions);
      await publisher.bindQueue(queue, exchange, '');
      for (let i = 0; i < n; i++) {
        if (!publisher.publish(exchange, '', BODY, { headers })) await new Promise((resolve) => publisher.once('drain', resolve));
      }
      await publisher.waitForConfirms();
      const channel = await connection.createChannel();
      const c = counter(n, TIMEOUT_MS, `rabbitmq ${variant}`);
      try {
        if (variant === 'plain') {
          await channel.prefetch(prefetch, false);
          const { consumerTag } = await channel.consume(queue, (message) => {
            if (message === null) return;
            void (async () => {
              sink += message.content.length;
              c.seen();
            })().then(() => channel.ack(message));
          });
          const timing = await c.done;
          await channel.cancel(consumerTag);
          return timing;
        }
        const registry = createMemoryRegistry();
        const consumer = await consumeLanes(channel, { service: 'bench', registry, exchange, exchangeOptions: false, queue, queueOptions, prefetch }, async (message) => {
          sink += message.content.length;
          c.seen();
        });
        const timing = await c.done;
        await consumer.stop();
        await registry.close();
        return timing;
      } finally {
        await channel.close().catch(() => undefined);
        await publisher.deleteQueue(queue).catch(() => undefined);
      }
    }, log, 'rabbitmq');
  } finally {
    if (sink === 0) log('rabbitmq: no message seen');
    await publisher.deleteExchange(exchange).catch(() => undefined);
    await connection.close();
  }
}

async function consumeBullmq(broker: TestBroker, n: number, rounds: number, log: (line: string) => void): Promise<ConsumeResult> {
  const connection = { host: broker.host, port: broker.port, maxRetriesPerRequest: null };
  const data = JSON.parse(BODY.toString()) as Record<string, unknown>;
  const opts = context.with(setLane(ROOT_CONTEXT, 'gray'), () => laneJobOptions({ removeOnComplete: true }));
  const concurrency = 1;
  let sink = 0;
  try {
    return await alternate(rounds, n, async (variant, r) => {
      // A queue of its own per round, filled with N gray jobs (as a producer's laneJobOptions stamps them).
      const name = `bench-${variant}-${r}-${process.pid}`;
      const queue = new Queue(name, { connection });
      for (let i = 0; i < n; i += 500) {
        await queue.addBulk(Array.from({ length: Math.min(500, n - i) }, () => ({ name: 'job', data, opts })));
      }
      const c = counter(n, TIMEOUT_MS, `bullmq ${variant}`);
      try {
        if (variant === 'plain') {
          const worker = new Worker(name, async (job) => {
            sink += job.name.length;
            c.seen();
          }, { connection, concurrency });
          try {
            return await c.done;
          } finally {
            await worker.close();
          }
        }
        const registry = createMemoryRegistry();
        const worker = await laneWorker(name, async (job) => {
          sink += job.name.length;
          c.seen();
        }, { service: 'bench', registry, connection, concurrency });
        try {
          return await c.done;
        } finally {
          await worker.close();
          await registry.close();
        }
      } finally {
        await queue.obliterate({ force: true }).catch(() => undefined);
        await queue.close();
      }
    }, log, 'bullmq');
  } finally {
    if (sink === 0) log('bullmq: no message seen');
  }
}

/**
 * Starts each broker in turn (Kafka, RabbitMQ, Redis for BullMQ), measures, and stops it. A broker
 * that fails is reported in its result instead of the figures, and the others still run.
 */
export async function benchConsume(options: {
  distDir: string;
  messages: number;
  rounds: number;
  log: (line: string) => void;
}): Promise<Record<Broker, ConsumeResult | { error: string }>> {
  ensureContextManager();
  const brokers = loadBrokers(options.distDir);
  const quiet = () => undefined;
  const out = {} as Record<Broker, ConsumeResult | { error: string }>;
  const plan: [Broker, 'kafka' | 'rabbitmq' | 'redis', typeof consumeKafka][] = [
    ['kafka', 'kafka', consumeKafka],
    ['rabbitmq', 'rabbitmq', consumeRabbitmq],
    ['bullmq', 'redis', consumeBullmq],
  ];
  for (const [name, kind, run] of plan) {
    options.log(`${name}: starting ${brokers.LABELS[kind]}`);
    let broker: TestBroker | undefined;
    try {
      broker = await brokers.startBroker(kind, { log: quiet });
      options.log(`${name}: ${options.messages} messages × ${options.rounds} rounds, plain vs graylane`);
      out[name] = await run(broker, options.messages, options.rounds, options.log);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      options.log(`${name}: failed: ${message}`);
      out[name] = { error: message };
    } finally {
      await broker?.stop();
    }
  }
  return out;
}

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/** The `messages` suite: see the file comment. `npm run bench -- --only=messages` runs it alone. */
export const messages: Suite = {
  name: 'messages',
  description: 'per message, graylane on Kafka, RabbitMQ and BullMQ: producer stamping (ns, CPU only) and consumer-side time added on a real broker (µs)',
  async run(ctx) {
    ctx.log('stamping one message in the gray lane vs copying it');
    const stamp = await benchStamp(ctx.quick ? { rounds: 3, timeMs: 200 } : { rounds: 7, timeMs: 300 });
    const n = ctx.quick ? 1_000 : 2_000;
    const rounds = ctx.rounds ?? (ctx.quick ? 3 : 9);
    const consume = await benchConsume({ distDir: ctx.distDir, messages: n, rounds, log: ctx.log });
    const result: Record<string, unknown> = {};
    const rows: Row[] = [];
    for (const broker of BROKER_NAMES) {
      const s = stamp[broker];
      const c = consume[broker];
      result[`${broker}_stamp_ns`] = round(s.stampNs - s.baseNs);
      result[`${broker}_stamp_total_ns`] = round(s.stampNs);
      result[`${broker}_stamp_base_ns`] = round(s.baseNs);
      rows.push({
        name: `${broker}: producer stamping added per message (\`messages.${broker}_stamp_ns\`; with / copy alone)`,
        value: `${round(s.stampNs - s.baseNs)} ns (${round(s.stampNs)} / ${round(s.baseNs)} ns)`,
      });
      if ('error' in c) {
        result[`${broker}_consume_error`] = c.error;
        rows.push({ name: `${broker}: consumer-side added per message (\`messages.${broker}_consume_added_us\`)`, value: `failed: ${c.error}` });
        continue;
      }
      result[`${broker}_consume_added_us`] = round(c.addedUs, 2);
      result[`${broker}_consume_added_min_us`] = round(c.addedMinUs, 2);
      result[`${broker}_consume_added_max_us`] = round(c.addedMaxUs, 2);
      result[`${broker}_consume_plain_us`] = round(c.plainUs, 2);
      result[`${broker}_consume_graylane_us`] = round(c.graylaneUs, 2);
      result[`${broker}_consume_added_mean_us`] = round(c.addedMeanUs, 2);
      result[`${broker}_consume_added_mean_min_us`] = round(c.addedMeanMinUs, 2);
      result[`${broker}_consume_added_mean_max_us`] = round(c.addedMeanMaxUs, 2);
      result[`${broker}_consume_plain_mean_us`] = round(c.plainMeanUs, 2);
      result[`${broker}_consume_graylane_mean_us`] = round(c.graylaneMeanUs, 2);
      result[`${broker}_consume_messages`] = c.messages;
      result[`${broker}_consume_rounds`] = c.rounds;
      rows.push(
        {
          name: `${broker}: consumer-side added per message, median gap, ${c.rounds} rounds × ${c.messages} (\`messages.${broker}_consume_added_us\`; range over rounds; plain)`,
          value: `${round(c.addedUs, 2)} µs (${round(c.addedMinUs, 2)} … ${round(c.addedMaxUs, 2)}; plain ${round(c.plainUs, 2)} µs)`,
        },
        {
          name: `${broker}: consumer-side added per message, mean over the round (pauses included; range; plain)`,
          value: `${round(c.addedMeanUs, 2)} µs (${round(c.addedMeanMinUs, 2)} … ${round(c.addedMeanMaxUs, 2)}; plain ${round(c.plainMeanUs, 2)} µs)`,
        },
      );
    }
    return { result: { messages: result }, rows };
  },
};
