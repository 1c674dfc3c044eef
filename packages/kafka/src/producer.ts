import { WireNames } from '@graylane/core';
import { getLane } from '@graylane/context';
import { carriersOrDefault } from '@graylane/context';
import type { Carriers } from '@graylane/context';
import type { IHeaders, Message, Producer, ProducerBatch, ProducerRecord, Transaction } from 'kafkajs';

const BAGGAGE = WireNames.BAGGAGE_HEADER;

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

/** Options of {@link stampMessages}. */
export interface StampOptions {
  /** The lane to stamp. Left out: the current lane. `undefined` or `'base'`: base (graylane's carriers removed). */
  readonly lane?: string | undefined;
  /** Which carriers to write: `graylane.carriers`, or `createCarriers(...)`. Default: graylane's. */
  readonly carriers?: Carriers | undefined;
}

/**
 * Returns copies of `messages` whose headers carry `options.lane` in graylane's carriers (`x-mse-tag` and the
 * W3C `baggage` entry by default; `carriers` as everywhere in graylane). Every header the caller set
 * is kept (a `baggage` header gets graylane's entry merged into it); the messages passed in are not
 * modified. `lane` defaults to the current lane (`getLane()`); the base lane (`'base'`, or no current
 * lane) removes graylane's carriers, so a base record travels unmarked.
 *
 * @example
 * await producer.send({ topic: 'orders', messages: stampMessages([{ value: JSON.stringify(order) }]) });
 */
export function stampMessages(messages: readonly Message[], options: StampOptions = {}): Message[] {
  const lane = 'lane' in options ? options.lane : getLane();
  const carriers = carriersOrDefault(options.carriers, 'stampMessages.carriers');
  return messages.map((message) => ({ ...message, headers: carriers.injectLaneIntoMessage(copyHeaders(message.headers), lane ?? 'base') as IHeaders }));
}

/** Options of {@link laneProducer}. */
export interface LaneProducerOptions {
  /** Where the lane travels; the same object as the rest of the application's graylane setup. */
  readonly carriers?: Carriers | undefined;
}

function stampRecord(record: ProducerRecord, carriers: Carriers): ProducerRecord {
  return { ...record, messages: stampMessages(record.messages, { lane: getLane(), carriers }) };
}

function stampBatch(batch: ProducerBatch, carriers: Carriers): ProducerBatch {
  if (batch.topicMessages === undefined) return batch;
  const lane = getLane();
  return { ...batch, topicMessages: batch.topicMessages.map((t) => ({ ...t, messages: stampMessages(t.messages, { lane, carriers }) })) };
}

function wrapSender<S extends Producer | Transaction>(sender: S, carriers: Carriers, extra: Partial<Record<PropertyKey, unknown>> = {}): S {
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
 * `stampMessages(messages, { lane })` and send them through the plain producer.
 *
 * @example
 * const producer = laneProducer(kafka.producer());
 * await producer.connect();
 * await producer.send({ topic: 'orders', messages: [{ value: 'o-1' }] }); // in the caller's lane
 */
export function laneProducer(producer: Producer, options: LaneProducerOptions = {}): Producer {
  const carriers = carriersOrDefault(options.carriers, 'laneProducer.carriers');
  return wrapSender(producer, carriers, {
    transaction: async () => wrapSender(await producer.transaction(), carriers),
  });
}
