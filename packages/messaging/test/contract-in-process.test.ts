/**
 * The messaging contract over an in-process fan-out transport: every consumer sees every message of
 * its topic, as every Kafka consumer group does, so the lane policy alone decides who handles it. This
 * checks the core (policy, stamping, consumeInLane) and the suite itself; the broker adapters run the
 * same suite against their real brokers.
 */
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { createMemoryRegistry } from '@graylane/registry';
import { describeMessagingContract, type MessagingAdapter } from '@graylane/testing';
import { consumeInLane, createLaneConsumerPolicy, injectLaneIntoMessage, type MessageHeaders } from '@graylane/messaging';

const manager = new AsyncLocalStorageContextManager();
beforeAll(() => context.setGlobalContextManager(manager.enable()));
afterAll(() => {
  manager.disable();
  context.disable();
});

type Deliver = (payload: string, headers: MessageHeaders) => void;

function inProcess(): MessagingAdapter {
  const topics = new Map<string, Set<Deliver>>();
  const publish = async (topic: string, payload: string, headers: MessageHeaders) => {
    // Copy the headers per consumer, as a broker delivers bytes, and deliver asynchronously.
    for (const deliver of topics.get(topic) ?? []) setImmediate(() => deliver(payload, { ...headers }));
  };
  let port = 42000;
  return {
    produce: (topic, payload, lane) => publish(topic, payload, injectLaneIntoMessage({}, lane ?? 'base')),
    produceRaw: (topic, payload, headers) => publish(topic, payload, headers),
    async consume(topic, options, handler) {
      const policy = createLaneConsumerPolicy({ ...options, register: { host: '127.0.0.1', port: ++port } });
      await policy.start();
      let queue = Promise.resolve();
      const deliver: Deliver = (payload, headers) => {
        queue = queue.then(() => consumeInLane(policy, headers, () => handler(payload)).then(() => undefined));
      };
      const set = topics.get(topic) ?? new Set();
      set.add(deliver);
      topics.set(topic, set);
      return {
        async stop() {
          set.delete(deliver);
          await policy.close();
        },
      };
    },
    async close() {
      topics.clear();
    },
  };
}

describeMessagingContract('in-process fan-out', async () => inProcess(), { createRegistry: createMemoryRegistry, timeoutMs: 3000, settleMs: 300, fallbackAfterMs: 500 });
