import { diag } from '@opentelemetry/api';
import { ErrorCode, GraylaneError } from '@graylane/core';
import type { Registry } from '@graylane/core';
import { carriersOrDefault } from '@graylane/context';
import type { Carriers } from '@graylane/context';
import { consumeInLane, createLaneConsumerPolicy } from '@graylane/messaging';
import type { LaneConsumerOptions, LaneConsumerPolicy, LaneCopies } from '@graylane/messaging';
import type { Channel, ConsumeMessage, Options } from 'amqplib';
import { amqpHeaders } from './headers.js';

/** Default of {@link ConsumeLanesOptions.prefetch}. */
export const DEFAULT_PREFETCH = 10;

/** What to do with a message whose handler threw or rejected: requeue it, or reject it (dead-letter or drop). */
export type HandlerErrorAction = 'requeue' | 'reject';

/**
 * {@link ConsumeLanesOptions.onHandlerError}:
 * - `'retry-once'` (default): requeue the message the first time its handler fails; when the
 *   redelivered copy fails too (or any delivery the broker marks redelivered), reject it. The bound
 *   is the broker's `redelivered` flag, so nothing is republished and no header is added.
 * - `'requeue'`: always requeue. A message that always fails is redelivered forever.
 * - `'reject'`: reject at once, without requeue.
 * - a function: decides per failure.
 *
 * A rejected message goes to the queue's dead-letter exchange when it has one (set it with
 * `queueOptions.deadLetterExchange`), and is otherwise dropped by RabbitMQ.
 */
export type HandlerErrorPolicy =
  | 'retry-once'
  | HandlerErrorAction
  | ((error: unknown, message: ConsumeMessage) => HandlerErrorAction);

/** Options of {@link consumeLanes}. */
export interface ConsumeLanesOptions {
  /** The consumer service: its consumers of every lane share the exchange's messages. */
  readonly service: string;
  /** This consumer's lane; `undefined` (or `'base'`) for base. */
  readonly lane?: string | undefined;
  /** The registry live lane consumers register in and are watched in. */
  readonly registry: Registry;
  /** The exchange the messages are published to (not the default exchange `''`). */
  readonly exchange: string;
  /** The exchange's type, when it is declared. Default `'fanout'`. */
  readonly exchangeType?: 'fanout' | 'topic' | 'direct' | 'headers';
  /**
   * Declare the exchange (`assertExchange`) with these options, or `false` to only use it (it must
   * exist then). Default `{ durable: true }`; must match an existing exchange's declaration.
   */
  readonly exchangeOptions?: Options.AssertExchange | false;
  /** Binding keys of the queue. Default `['#']` for a topic exchange, `['']` otherwise. */
  readonly bindingKeys?: readonly string[];
  /**
   * The queue of this consumer. Default `<service>.<lane or 'base'>`: one queue per lane of the
   * service. A function receives the service and lane (`undefined` for base) and names every
   * lane's queue, base's adopters included; with a string, base does not adopt (it cannot name the
   * lanes' queues).
   */
  readonly queue?: string | ((service: string, lane: string | undefined) => string);
  /** Options of `assertQueue`. Default `{ durable: true }`. */
  readonly queueOptions?: Options.AssertQueue;
  /**
   * Unacknowledged messages per consumer (`basic.qos`), also how many are handled at once. Set on the
   * channel before consuming, so it applies to consumers started on it afterwards too. `0`: no limit;
   * `1`: one message at a time, in queue order. Default {@link DEFAULT_PREFETCH}.
   */
  readonly prefetch?: number;
  /** Passed to the policy; see `createLaneConsumerPolicy` in @graylane/messaging. */
  readonly fallbackAfterMs?: number;
  /** Lanes whose messages base never takes. */
  readonly strict?: LaneConsumerOptions['strict'];
  /** Whether (and as what) this consumer registers in `registry`; see `createLaneConsumerPolicy`. Default true. */
  readonly register?: LaneConsumerOptions['register'];
  /** The carriers the lane is read from (`graylane.carriers`, or `createCarriers(...)`). Default: graylane's. */
  readonly carriers?: Carriers | undefined;
  /** What happens to a message whose handler failed. Default `'retry-once'`. */
  readonly onHandlerError?: HandlerErrorPolicy;
  /** Called with every handler failure (after the message is requeued or rejected). Default: `diag.warn`. */
  readonly onError?: (error: unknown, message: ConsumeMessage) => void;
  /**
   * Base only: adopt the queue of a lane that has had no live consumer for `fallbackAfterMs` (see
   * the README, "Semantics"). Default true. `false`: base waits `fallbackAfterMs` for a vanished
   * lane's messages, holding the delivery, then handles them from its own queue (a message base
   * received before its registry view dropped the lane is then left in the lane's queue).
   */
  readonly adopt?: boolean;
  /**
   * Base only, with adoption: lanes whose queue base looks for at start, so that a base (re)started
   * after a lane's last consumer left (a release that ended) adopts what waits there although no
   * message of that lane reaches base again. Lanes seen live, or in a message base receives, are found
   * anyway. Name the lanes your releases use.
   */
  readonly lanes?: readonly string[];
  /**
   * Opens a channel on the connection of `channel`, for base's adopters (one channel each) and its
   * checks of whether a lane's queue exists (a failed `checkQueue` closes its channel, so never
   * `channel`). Default: a channel opened on `channel`'s own connection, as
   * `connection.createChannel()` does; give `() => connection.createChannel()` where that is not
   * amqplib's `Channel`.
   */
  readonly openChannel?: () => Promise<Channel>;
}

/** A running lane consumer, from {@link consumeLanes}. */
export interface LaneConsumer {
  /** The queue it consumes. */
  readonly queue: string;
  /** The consumer tag. */
  readonly consumerTag: string;
  /** The lane policy deciding which messages it handles (`policy.adopting()`: the lanes whose queue base adopts now). */
  readonly policy: LaneConsumerPolicy;
  /**
   * Stops consuming, waits for the messages in hand to be handled and acknowledged, stops base's
   * adopters (each cancels its consumer, finishes and acks what it has in hand, closes its channel),
   * and deregisters.
   * With `deleteQueue`, also deletes the queue (retiring a lane: its queue would otherwise keep
   * collecting copies of every message). Idempotent; does not close the channel.
   */
  stop(options?: { readonly deleteQueue?: boolean }): Promise<void>;
}

/** The handler of {@link consumeLanes}: runs in the message's lane. */
export type LaneMessageHandler = (message: ConsumeMessage) => unknown;

function invalid(path: string, message: string, value: unknown): GraylaneError {
  return new GraylaneError(ErrorCode.CONFIG_INVALID, `${path}: ${message}`, { details: { path, value } });
}

/** A consumer on one queue: deliveries go through `policy` and are acked, requeued or rejected. */
interface QueueConsumer {
  readonly consumerTag: string;
  /** Cancels the consumer and waits for the messages in hand to be handled and settled. Idempotent. */
  stop(): Promise<void>;
}

interface ConsumeQueueOptions {
  readonly path: string;
  readonly carriers: Carriers;
  readonly onHandlerError: HandlerErrorPolicy;
  readonly onError: ((error: unknown, message: ConsumeMessage) => void) | undefined;
  /** The broker cancelled the consumer (its queue was deleted). */
  readonly onCancelled: () => void;
}

async function consumeQueue(channel: Channel, queue: string, policy: LaneConsumerPolicy, handler: LaneMessageHandler, o: ConsumeQueueOptions): Promise<QueueConsumer> {
  const { path, onHandlerError } = o;
  const carriers = { carriers: o.carriers };
  const report = o.onError ?? ((error: unknown) => diag.warn(`graylane: ${path} handler failed on a message of ${queue}`, error));
  const inFlight = new Set<Promise<void>>();

  const settle = (what: 'ack' | 'nack', message: ConsumeMessage, requeue = false): void => {
    try {
      if (what === 'ack') channel.ack(message);
      else channel.nack(message, false, requeue);
    } catch (error) {
      // The channel closed under us: the broker requeues every unacknowledged message itself.
      diag.warn(`graylane: ${path} could not ${what} a message of ${queue} (channel closed?)`, error);
    }
  };

  const onFailure = (error: unknown, message: ConsumeMessage): void => {
    let action: HandlerErrorAction;
    if (onHandlerError === 'retry-once') action = message.fields.redelivered ? 'reject' : 'requeue';
    else if (typeof onHandlerError === 'function') {
      try {
        action = onHandlerError(error, message) === 'reject' ? 'reject' : 'requeue';
      } catch (decideError) {
        diag.warn(`graylane: ${path}.onHandlerError threw; requeueing the message`, decideError);
        action = 'requeue';
      }
    } else action = onHandlerError;
    settle('nack', message, action === 'requeue');
    try {
      report(error, message);
    } catch (reportError) {
      diag.warn(`graylane: ${path}.onError threw`, reportError);
    }
  };

  const deliver = async (message: ConsumeMessage): Promise<void> => {
    let headers;
    try {
      headers = amqpHeaders(message.properties.headers);
    } catch {
      headers = {};
    }
    try {
      // Handled or skipped (another lane's consumer takes its own copy), the message is acked.
      await consumeInLane(policy, headers, () => handler(message), carriers);
    } catch (error) {
      onFailure(error, message);
      return;
    }
    settle('ack', message);
  };

  const { consumerTag } = await channel.consume(
    queue,
    (message) => {
      if (message === null) {
        // Cancelled by the broker (the queue was deleted): this consumer no longer consumes.
        diag.warn(`graylane: ${path}: the broker cancelled the consumer of ${queue}`);
        o.onCancelled();
        return;
      }
      const task = deliver(message).finally(() => inFlight.delete(task));
      inFlight.add(task);
    },
    { noAck: false },
  );

  let stopping: Promise<void> | undefined;
  return {
    consumerTag,
    stop() {
      stopping ??= (async () => {
        try {
          await channel.cancel(consumerTag);
        } catch (error) {
          diag.debug(`graylane: ${path} could not cancel ${consumerTag} (channel closed?)`, error);
        }
        await Promise.allSettled([...inFlight]);
      })();
      return stopping;
    },
  };
}

/** A channel opener on `channel`'s own connection (amqplib's `Channel` class), or `undefined`. */
function sameConnection(channel: Channel): (() => Promise<Channel>) | undefined {
  const ChannelClass = (channel as { constructor?: unknown }).constructor;
  const connection = (channel as { connection?: unknown }).connection;
  if (typeof ChannelClass !== 'function' || connection === undefined || typeof (channel as { open?: unknown }).open !== 'function') return undefined;
  return async () => {
    const opened = new (ChannelClass as new (connection: unknown) => Channel & { open(): Promise<unknown> })(connection);
    await opened.open();
    return opened;
  };
}

/** Whether an error is the broker's 404 NOT_FOUND (a queue that does not exist). */
function notFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 404;
}

/**
 * Starts a lane consumer of `options.service` on `channel`. It declares its own queue (default
 * `<service>.<lane>`) bound to `options.exchange`, so every lane consumer of the service receives
 * every message; registers in the registry with its lane (so base sees it live) and watches it; and
 * for each delivery lets the lane policy decide (`consumeInLane` from @graylane/messaging):
 *
 * - handled: `handler` runs in the message's lane, and the message is acked when it resolves;
 * - skipped (another lane's consumer takes it from its own queue): acked at once. Base skips the
 *   messages of every lane that has its own queue (seen live, or found to exist), and handles
 *   them only for a lane that never had one;
 * - base adopts the queue of a lane that has had no live consumer for `fallbackAfterMs` (not a
 *   strict lane): it consumes that queue on a channel of its own, handling the lane's messages in
 *   the lane, without registering, until the lane has a live consumer again (`adopt: false`: base
 *   waits `fallbackAfterMs`, then handles the lane's messages from its own queue).
 *
 * A failing handler's message is requeued or rejected per {@link ConsumeLanesOptions.onHandlerError}.
 * Unreadable lane headers make a message a base message; they never stop the consumer. Resolves once
 * consuming and registered. Throws `GraylaneError` (`CONFIG_INVALID`) for invalid options.
 */
export async function consumeLanes(channel: Channel, options: ConsumeLanesOptions, handler: LaneMessageHandler): Promise<LaneConsumer> {
  const path = `amqp.consumeLanes(${String(options.service)})`;
  if (typeof handler !== 'function') throw invalid(`${path}.handler`, 'a handler function is required', handler);
  if (typeof options.exchange !== 'string' || options.exchange.length === 0 || Buffer.byteLength(options.exchange) > 255) {
    throw invalid(`${path}.exchange`, 'a non-empty exchange name (up to 255 bytes) is required', options.exchange);
  }
  const prefetch = options.prefetch ?? DEFAULT_PREFETCH;
  if (!Number.isInteger(prefetch) || prefetch < 0 || prefetch > 65535) {
    throw invalid(`${path}.prefetch`, 'expected an integer from 0 to 65535', prefetch);
  }
  const onHandlerError = options.onHandlerError ?? 'retry-once';
  if (typeof onHandlerError !== 'function' && !['retry-once', 'requeue', 'reject'].includes(onHandlerError)) {
    throw invalid(`${path}.onHandlerError`, "expected 'retry-once', 'requeue', 'reject' or a function", onHandlerError);
  }
  const exchangeType = options.exchangeType ?? 'fanout';
  const bindingKeys = options.bindingKeys ?? [exchangeType === 'topic' ? '#' : ''];
  if (!Array.isArray(bindingKeys) || bindingKeys.length === 0 || !bindingKeys.every((k) => typeof k === 'string')) {
    throw invalid(`${path}.bindingKeys`, 'expected a non-empty array of strings', bindingKeys);
  }
  if (options.adopt !== undefined && typeof options.adopt !== 'boolean') throw invalid(`${path}.adopt`, 'expected a boolean', options.adopt);
  if (options.openChannel !== undefined && typeof options.openChannel !== 'function') throw invalid(`${path}.openChannel`, 'expected a function', options.openChannel);

  const queueOf = (service: string, lane: string | undefined): string => {
    const name = typeof options.queue === 'function' ? options.queue(service, lane) : (options.queue ?? `${service}.${lane ?? 'base'}`);
    if (typeof name !== 'string' || name.length === 0 || Buffer.byteLength(name) > 255 || name.startsWith('amq.')) {
      throw invalid(`${path}.queue`, "expected a queue name of 1 to 255 bytes, not starting with 'amq.'", name);
    }
    return name;
  };
  const lane = options.lane === undefined || options.lane === 'base' ? undefined : options.lane;
  const openChannel = options.openChannel ?? sameConnection(channel);
  const adopts = lane === undefined && options.adopt !== false && typeof options.queue !== 'string' && openChannel !== undefined;
  const carriers = carriersOrDefault(options.carriers, `${path}.carriers`);
  const consumeOptions = (onCancelled: () => void): ConsumeQueueOptions => ({ path, carriers, onHandlerError, onError: options.onError, onCancelled });

  const laneCopies: LaneCopies = {
    async exists(l) {
      const probe = await openChannel!();
      // A failed checkQueue closes its channel: that is why it is a channel of its own.
      probe.on('error', () => undefined);
      try {
        await probe.checkQueue(queueOf(policy.service, l));
        return true;
      } catch (error) {
        if (notFound(error)) return false;
        throw error;
      } finally {
        await probe.close().catch(() => undefined);
      }
    },
    async adopt(l, ended) {
      const queue = queueOf(policy.service, l);
      const adopterChannel = await openChannel!();
      adopterChannel.on('error', (error: unknown) => diag.warn(`graylane: ${path}: the channel adopting ${queue} failed`, error));
      let stopped = false;
      adopterChannel.on('close', () => {
        if (!stopped) ended(new Error(`the channel adopting ${queue} closed`));
      });
      // The lane's own consumer, as base's: its lane's messages handled, the others' skipped; unregistered.
      const lanePolicy = createLaneConsumerPolicy({ service: policy.service, lane: l, registry: options.registry, register: false });
      try {
        if (prefetch > 0) await adopterChannel.prefetch(prefetch, false);
        const consumer = await consumeQueue(adopterChannel, queue, lanePolicy, handler, consumeOptions(() => ended(new Error(`${queue} was deleted`))));
        return {
          async stop() {
            stopped = true;
            await consumer.stop();
            await adopterChannel.close().catch(() => undefined);
          },
        };
      } catch (error) {
        stopped = true;
        await adopterChannel.close().catch(() => undefined);
        throw error;
      }
    },
  };

  // Validates service, lane and fallbackAfterMs (CONFIG_INVALID) before anything is declared.
  const policy = createLaneConsumerPolicy({
    service: options.service,
    lane: options.lane,
    registry: options.registry,
    ...(options.fallbackAfterMs !== undefined ? { fallbackAfterMs: options.fallbackAfterMs } : {}),
    ...(options.strict !== undefined ? { strict: options.strict } : {}),
    ...(options.register !== undefined ? { register: options.register } : {}),
    ...(adopts ? { laneCopies } : {}),
    ...(adopts && options.lanes !== undefined ? { lanes: options.lanes } : {}),
  });
  const queueName = queueOf(policy.service, policy.lane);

  const exchangeOptions = options.exchangeOptions ?? { durable: true };
  if (exchangeOptions !== false) await channel.assertExchange(options.exchange, exchangeType, exchangeOptions);
  const { queue } = await channel.assertQueue(queueName, options.queueOptions ?? { durable: true });
  for (const key of bindingKeys) await channel.bindQueue(queue, options.exchange, key);
  if (prefetch > 0) await channel.prefetch(prefetch, false);

  let stopping: Promise<void> | undefined;
  await policy.start();
  let consumer: QueueConsumer;
  try {
    consumer = await consumeQueue(channel, queue, policy, handler, consumeOptions(() => void stop()));
  } catch (error) {
    await policy.close();
    throw error;
  }

  async function stop(stopOptions: { readonly deleteQueue?: boolean } = {}): Promise<void> {
    stopping ??= (async () => {
      await consumer.stop();
      await policy.close();
    })();
    await stopping;
    if (stopOptions.deleteQueue === true) await channel.deleteQueue(queue);
  }

  return { queue, consumerTag: consumer.consumerTag, policy, stop };
}
