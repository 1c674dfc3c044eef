import { getLane } from '@graylane/context';
import type { CarrierOptions } from '@graylane/context';
import { injectLaneIntoMessage } from '@graylane/messaging';
import type { IHeaders, Message, Producer, ProducerBatch, ProducerRecord, Transaction } from 'kafkajs';

const BAGGAGE = 'baggage';

/**
 * A copy of `headers` ready for the lane carriers: the caller's headers are kept as they are, except
 * a `baggage` header sent as a `Buffer` or an array, which is decoded to text so that graylane can
 * merge its entry into it instead of losing the caller's entries.
 */
function copyHeaders(headers: IHeaders | undefined): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...headers };
  for (const key of Object.keys(copy)) {
    if (key.toLowerCase() !== BAGGAGE) continue;
    const value = copy[key];
    const parts = (Array.isArray(value) ? value : [value]).map((part: unknown) =>
      typeof part === 'string' ? part : part instanceof Uint8Array ? Buffer.from(part).toString('utf8') : undefined,
    );
    const text = parts.filter((part): part is string => part !== undefined && part.length > 0).join(',');
    if (text.length > 0) copy[key] = text;
    else delete copy[key];
  }
  return copy;
}

/**
 * Returns copies of `messages` whose headers carry `lane` in graylane's carriers (`x-mse-tag` and the
 * W3C `baggage` entry by default; `carriers` as everywhere in graylane). Every header the caller set
 * is kept (a `baggage` header gets graylane's entry merged into it); the messages passed in are not
 * modified. `lane` defaults to the current lane (`getLane()`); the base lane (`'base'`, or no current
 * lane) removes graylane's carriers, so a base record travels unmarked.
 *
 * @example
 * await producer.send({ topic: 'orders', messages: stampMessages([{ value: JSON.stringify(order) }]) });
 */
export function stampMessages(messages: readonly Message[], lane: string | undefined = getLane(), carriers?: CarrierOptions): Message[] {
  return messages.map((message) => ({ ...message, headers: injectLaneIntoMessage(copyHeaders(message.headers), lane ?? 'base', carriers) as IHeaders }));
}

/** Options of {@link laneProducer}. */
export interface LaneProducerOptions {
  /** Where the lane travels; the same object as the rest of the application's graylane setup. */
  readonly carriers?: CarrierOptions;
}

function stampRecord(record: ProducerRecord, carriers: CarrierOptions | undefined): ProducerRecord {
  return { ...record, messages: stampMessages(record.messages, getLane(), carriers) };
}

function stampBatch(batch: ProducerBatch, carriers: CarrierOptions | undefined): ProducerBatch {
  if (batch.topicMessages === undefined) return batch;
  const lane = getLane();
  return { ...batch, topicMessages: batch.topicMessages.map((t) => ({ ...t, messages: stampMessages(t.messages, lane, carriers) })) };
}

function wrapSender<S extends Producer | Transaction>(sender: S, carriers: CarrierOptions | undefined, extra: Partial<Record<PropertyKey, unknown>> = {}): S {
  const overrides: Partial<Record<PropertyKey, unknown>> = {
    send: (record: ProducerRecord) => sender.send(stampRecord(record, carriers)),
    sendBatch: (batch: ProducerBatch) => sender.sendBatch(stampBatch(batch, carriers)),
    ...extra,
  };
  return new Proxy(sender, {
    get(target, property, receiver) {
      if (Object.prototype.hasOwnProperty.call(overrides, property)) return overrides[property];
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * Wraps a kafkajs producer so that every record it sends carries the lane current at the `send` /
 * `sendBatch` call (see {@link stampMessages}); transactions it opens stamp their records too. The
 * producer itself is not modified, and everything else (connect, events, disconnect) is the
 * producer's own. To send in another lane than the current one, stamp the messages explicitly with
 * `stampMessages(messages, lane)` and send them through the plain producer.
 *
 * @example
 * const producer = laneProducer(kafka.producer());
 * await producer.connect();
 * await producer.send({ topic: 'orders', messages: [{ value: 'o-1' }] }); // in the caller's lane
 */
export function laneProducer(producer: Producer, options: LaneProducerOptions = {}): Producer {
  const { carriers } = options;
  return wrapSender(producer, carriers, {
    transaction: async () => wrapSender(await producer.transaction(), carriers),
  });
}
