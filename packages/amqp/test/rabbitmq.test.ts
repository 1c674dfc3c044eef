/**
 * The messaging contract of @graylane/testing against a real RabbitMQ node: a topic is a fanout
 * exchange, every lane consumer of a service has its own queue bound to it (as `consumeLanes`
 * declares them), so base and gray both receive each message and the lane policy decides.
 */
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { connect } from 'amqplib';
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { createMemoryRegistry } from '@graylane/registry';
import { describeMessagingContract, type MessagingAdapter } from '@graylane/testing';
import { consumeLanes, publishInLane } from '../src/index.js';
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

async function rabbitmq(): Promise<MessagingAdapter> {
  const url = broker().url;
  const connection: ChannelModel = await connect(url);
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
      const channel = await connection.createChannel();
      const consumer = await consumeLanes(
        channel,
        { ...options, exchange: topic, queueOptions: { exclusive: true }, register: { host: '127.0.0.1', port: ++port } },
        (message) => handler(message.content.toString('utf8')),
      );
      return {
        async stop() {
          await consumer.stop();
          await channel.close();
        },
      };
    },
    async close() {
      await connection.close();
    },
  };
}

describeMessagingContract('RabbitMQ (amqplib)', rabbitmq, { createRegistry: createMemoryRegistry, timeoutMs: 10_000, settleMs: 500, fallbackAfterMs: 1000 });
