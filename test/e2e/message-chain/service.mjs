/**
 * One process of the message-chain end-to-end test (test/e2e/message-chain.test.ts), on the BUILT
 * packages. Two roles over one broker (BROKER = kafka | rabbitmq | bullmq):
 *
 *   ROLE=p  the producer P: an Express service (graylane's middleware) whose GET /produce?id=X
 *           sends one message {id} with the adapter's producer helper in the request's lane.
 *   ROLE=q  the consumer Q: consumes with the adapter's lane consumer (its lane is GRAYLANE_LANE)
 *           and, for each message, calls service C over HTTP through @graylane/axios, in the
 *           message's lane, then POSTs {id, q, ranIn, c} to COLLECTOR.
 *
 * Environment: BROKER, BROKER_URL, ROLE, SERVICE (this process's service), TARGET (P only: the
 * consumer service, whose live lanes the BullMQ producer watches), CHANNEL (topic / exchange /
 * queue name), FALLBACK_MS, COLLECTOR (Q only), GRAYLANE_REGISTRY_DIR, GRAYLANE_LANE.
 *
 * Tells its parent over IPC: { ready: true, port? } once serving, then { live: [...] } each time the
 * set of live lanes its lane policy sees changes. SIGTERM: stops the consumer (it deregisters), exits 0.
 */
import express from 'express';
import axios from 'axios';
import kafkajs from 'kafkajs';
import amqp from 'amqplib';
import { attachLaneRouting } from '@graylane/axios';
import { getLane } from '@graylane/context';
import { laneLabel } from '@graylane/core';
import { graylaneMiddleware } from '@graylane/express';
import { startGraylane } from '@graylane/node';
import { laneProducer, runLaneConsumer } from '@graylane/kafka';
import { consumeLanes, publishInLane } from '@graylane/amqp';
import { createLaneQueue, laneWorker } from '@graylane/bullmq';

const { Kafka, logLevel } = kafkajs;

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`message-chain service: ${name} is required`);
    process.exit(2);
  }
  return value;
};
const broker = env('BROKER');
const brokerUrl = env('BROKER_URL');
const role = env('ROLE');
const service = env('SERVICE');
const channelName = env('CHANNEL');
const fallbackAfterMs = Number(env('FALLBACK_MS'));

/** kafkajs timings for a test: a fetch returns within 200 ms, heartbeats every 500 ms. */
const KAFKA_CONSUMER = { sessionTimeout: 6000, rebalanceTimeout: 5000, heartbeatInterval: 500, maxWaitTimeInMs: 200, retry: { initialRetryTime: 100, retries: 10 } };
const redisConnection = () => {
  const url = new URL(brokerUrl);
  return { host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null };
};
const kafkaClient = () => new Kafka({ clientId: `${service}-${process.pid}`, brokers: [brokerUrl], logLevel: logLevel.NOTHING, retry: { initialRetryTime: 100, retries: 10 } });

/** Reports the live lanes a policy sees to the parent, whenever they change. */
function reportLive(policy) {
  let last = '';
  const timer = setInterval(() => {
    const live = [...policy.liveLanes()].sort();
    const text = live.join(',');
    if (text === last) return;
    last = text;
    process.send?.({ live, at: Date.now() });
  }, 50);
  timer.unref();
}

const graylane = await startGraylane({ service, dependencies: role === 'q' ? ['c'] : [], startupLog: false });

if (role === 'q') {
  const collector = env('COLLECTOR');
  const http = axios.create({ timeout: 5_000 });
  attachLaneRouting(http, { router: graylane.router, carriers: graylane.carriers });
  const me = laneLabel(graylane.lane);

  /** One message: call C in the message's lane, then tell the collector who did what. */
  const handle = async (body) => {
    const { id } = JSON.parse(body);
    const ranIn = laneLabel(getLane());
    const hops = (await http.get('http://c/c', { headers: { accept: 'application/json' } })).data;
    const record = { broker, id, q: me, ranIn, c: hops[0]?.lane, cAddress: hops[0]?.address, pid: process.pid, at: Date.now() };
    const response = await fetch(collector, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(record) });
    if (!response.ok) throw new Error(`collector answered ${response.status}`);
  };

  let stop;
  let policy;
  if (broker === 'kafka') {
    const consumer = await runLaneConsumer(
      kafkaClient(),
      { service, lane: graylane.lane, registry: graylane.registry, topics: [channelName], carriers: graylane.carriers, fallbackAfterMs, consumer: KAFKA_CONSUMER },
      ({ message }) => handle(message.value.toString()),
    );
    policy = consumer.policy;
    stop = () => consumer.stop();
  } else if (broker === 'rabbitmq') {
    const connection = await amqp.connect(brokerUrl);
    const channel = await connection.createChannel();
    const consumer = await consumeLanes(
      channel,
      { service, lane: graylane.lane, registry: graylane.registry, exchange: channelName, carriers: graylane.carriers, fallbackAfterMs },
      (message) => handle(message.content.toString()),
    );
    policy = consumer.policy;
    stop = async () => {
      await consumer.stop();
      await connection.close();
    };
  } else if (broker === 'bullmq') {
    const worker = await laneWorker(channelName, (job) => handle(JSON.stringify(job.data)), {
      service,
      lane: graylane.lane,
      registry: graylane.registry,
      connection: redisConnection(),
      fallbackAfterMs,
      discoverEveryMs: 250,
    });
    policy = worker.policy;
    stop = () => worker.close();
  } else {
    throw new Error(`unknown BROKER ${broker}`);
  }
  reportLive(policy);
  process.once('SIGTERM', () => {
    stop()
      .then(() => graylane.shutdown())
      .then(
        () => process.exit(0),
        (error) => {
          console.error('message-chain q: stop failed', error);
          process.exit(1);
        },
      );
  });
  process.send?.({ ready: true });
} else if (role === 'p') {
  const target = env('TARGET');
  let produce;
  let close;
  if (broker === 'kafka') {
    const kafka = kafkaClient();
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: channelName, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = laneProducer(kafka.producer({ allowAutoTopicCreation: false }), { carriers: graylane.carriers });
    await producer.connect();
    produce = (id) => producer.send({ topic: channelName, messages: [{ value: JSON.stringify({ id }) }] });
    close = () => producer.disconnect();
  } else if (broker === 'rabbitmq') {
    const connection = await amqp.connect(brokerUrl);
    const channel = await connection.createConfirmChannel();
    await channel.assertExchange(channelName, 'fanout', { durable: true });
    produce = async (id) => {
      publishInLane(channel, channelName, '', Buffer.from(JSON.stringify({ id })), { persistent: true, carriers: graylane.carriers });
      await channel.waitForConfirms();
    };
    close = () => connection.close();
  } else if (broker === 'bullmq') {
    const queue = createLaneQueue(channelName, { service: target, registry: graylane.registry, connection: redisConnection(), fallbackAfterMs });
    await queue.ready();
    reportLive(queue.policy);
    produce = (id) => queue.add('message', { id });
    close = () => queue.close();
  } else {
    throw new Error(`unknown BROKER ${broker}`);
  }

  const app = express();
  app.use(graylaneMiddleware({ carriers: graylane.carriers }));
  app.get('/produce', async (req, res) => {
    const id = String(req.query['id'] ?? '');
    try {
      await produce(id);
      res.json({ id, lane: laneLabel(getLane()) });
    } catch (error) {
      res.status(500).json({ id, error: String(error) });
    }
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  process.once('SIGTERM', () => {
    server.close();
    close()
      .then(() => graylane.shutdown())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  });
  process.send?.({ ready: true, port: server.address().port });
} else {
  throw new Error(`unknown ROLE ${role}`);
}
