import { diag } from '@opentelemetry/api';
import { ErrorCode, GraylaneError } from '@graylane/core';
import type { Clock, Registry } from '@graylane/core';
import { carriersOrDefault } from '@graylane/context';
import type { Carriers } from '@graylane/context';
import { consumeInLane, createLaneConsumerPolicy } from '@graylane/messaging';
import type { LaneConsumerPolicy } from '@graylane/messaging';
import type { Consumer, ConsumerConfig, ConsumerRunConfig, EachMessagePayload, Kafka } from 'kafkajs';
import { toMessageHeaders } from './headers.js';

/** kafkajs' default heartbeat interval, used to keep a member alive while a record waits for the policy. */
const DEFAULT_HEARTBEAT_INTERVAL_MS = 3000;

/**
 * The consumer group of `service`'s consumers in `lane`: `<service>` for base, `<service>.<lane>`
 * for a lane. Each lane has its own group so that every lane's consumers receive every record of the
 * topic and the lane policy decides which one handles it.
 */
export function laneGroupId(service: string, lane: string | undefined): string {
  return lane === undefined || lane === 'base' ? service : `${service}.${lane}`;
}

/** Handles one record; runs in the record's lane (`getLane()`). */
export type KafkaLaneHandler = (payload: EachMessagePayload) => void | Promise<void>;

/** Options of {@link runLaneConsumer}. */
export interface KafkaLaneConsumerOptions {
  /** The consumer service: its consumers in every lane share the records of `topics`. */
  readonly service: string;
  /** This consumer's lane; `undefined` (or `'base'`) for base. */
  readonly lane?: string | undefined;
  /** The registry the application already uses; this consumer registers there and watches the others. */
  readonly registry: Registry;
  /** The topics to consume (names or patterns, as kafkajs' `subscribe`). */
  readonly topics: readonly (string | RegExp)[];
  /**
   * The consumer group. Default {@link laneGroupId}: `<service>` for base, `<service>.<lane>` for a
   * lane. A function receives the service and lane. Two lanes must never share a group: a record
   * would reach only one of them.
   */
  readonly groupId?: string | ((service: string, lane: string | undefined) => string);
  /** Where a group without committed offsets starts. Default false: the latest offset. */
  readonly fromBeginning?: boolean;
  /** The policy's `fallbackAfterMs` (see @graylane/messaging). */
  readonly fallbackAfterMs?: number;
  /** Lanes whose records base never takes. */
  readonly strict?: readonly string[] | ((lane: string) => boolean);
  /** How this consumer registers (see @graylane/messaging's `register`). Default true. */
  readonly register?: boolean | { readonly host: string; readonly port: number };
  /** Where the lane travels: `graylane.carriers`, or `createCarriers(...)`. Default: graylane's. */
  readonly carriers?: Carriers | undefined;
  /** kafkajs consumer settings (session, heartbeat, fetch sizes...); the group is set by `groupId`. */
  readonly consumer?: Omit<ConsumerConfig, 'groupId'>;
  /** kafkajs `run` settings other than the handler (commit interval, partitions consumed concurrently). */
  readonly run?: Omit<ConsumerRunConfig, 'eachMessage' | 'eachBatch'>;
  /** The clock of the policy and its waits; tests pass a fake one. */
  readonly clock?: Clock;
}

/** A running lane consumer, made by {@link runLaneConsumer}. */
export interface KafkaLaneConsumer {
  /** The consumer group it joined. */
  readonly groupId: string;
  /** The kafkajs consumer (for its events, pause/resume, seek). */
  readonly consumer: Consumer;
  /** The lane policy deciding per record. */
  readonly policy: LaneConsumerPolicy;
  /**
   * Disconnects the consumer (after the record in progress; it leaves its group), then deregisters
   * it: base's `fallbackAfterMs` for this lane counts from when the consumer is really gone. Records
   * of the lane produced meanwhile stay in this lane's group for its next consumer. Idempotent.
   */
  stop(): Promise<void>;
}

function invalid(path: string, message: string, details: Record<string, unknown> = {}): GraylaneError {
  return new GraylaneError(ErrorCode.CONFIG_INVALID, `${path}: ${message}`, { details: { path, ...details } });
}

function resolveGroupId(options: KafkaLaneConsumerOptions, lane: string | undefined, path: string): string {
  const { groupId } = options;
  const id = typeof groupId === 'function' ? groupId(options.service, lane) : (groupId ?? laneGroupId(options.service, lane));
  if (typeof id !== 'string' || id.length === 0) throw invalid(`${path}.groupId`, 'expected a non-empty consumer group id', { value: id });
  return id;
}

/**
 * Waits for the consumer to join its group and, when it was assigned partitions, for its first fetch:
 * by then its offsets are resolved, so every record produced afterwards reaches it. Rejects if the
 * consumer crashes for good before.
 */
function joined(consumer: Consumer): { readonly done: Promise<void>; cancel(): void } {
  const removers: (() => void)[] = [];
  const cancel = () => {
    for (const remove of removers.splice(0)) remove();
  };
  const done = new Promise<void>((resolve, reject) => {
    let assigned: boolean | undefined;
    removers.push(
      consumer.on(consumer.events.GROUP_JOIN, (event) => {
        assigned = Object.values(event.payload.memberAssignment).some((partitions) => partitions.length > 0);
        if (!assigned) resolve();
      }),
      consumer.on(consumer.events.FETCH, () => {
        if (assigned === true) resolve();
      }),
      consumer.on(consumer.events.CRASH, (event) => {
        if (!event.payload.restart) reject(event.payload.error);
      }),
    );
  });
  return { done: done.finally(cancel), cancel };
}

/**
 * Starts `service`'s consumer in `lane` on `topics` in its own consumer group (see
 * {@link laneGroupId}), and resolves once it is consuming: joined, its offsets resolved, and
 * registered in `registry` as a live consumer of its lane. Each record goes through the lane policy
 * (`consumeInLane` of @graylane/messaging): handled records run `handler` in the record's lane and
 * are committed after it resolves (kafkajs `eachMessage` auto-commit; a handler that throws gets the
 * record redelivered, as kafkajs does); records that are another lane's are skipped and committed at
 * once. A base record waiting for a vanished lane consumer (at most `fallbackAfterMs`) holds its
 * partition meanwhile, the member heartbeating so that it keeps its group membership (the handler
 * itself heartbeats only if it calls `payload.heartbeat()`, as under kafkajs). Lane headers that
 * cannot be read make a base record.
 *
 * @throws GraylaneError `GRAYLANE_ERR_CONFIG_INVALID` for invalid options (with the option's `path`).
 */
export async function runLaneConsumer(kafka: Kafka, options: KafkaLaneConsumerOptions, handler: KafkaLaneHandler): Promise<KafkaLaneConsumer> {
  if (options === null || typeof options !== 'object') throw invalid('kafka.consumer', 'expected the consumer options');
  const path = `kafka.consumer(${String(options.service)})`;
  if (kafka === null || typeof kafka !== 'object' || typeof kafka.consumer !== 'function') throw invalid(`${path}.kafka`, 'expected a kafkajs Kafka client');
  if (typeof handler !== 'function') throw invalid(`${path}.handler`, 'expected a function');
  const { topics } = options;
  if (!Array.isArray(topics) || topics.length === 0 || !topics.every((t) => (typeof t === 'string' && t.length > 0) || t instanceof RegExp)) {
    throw invalid(`${path}.topics`, 'expected a non-empty list of topic names or patterns');
  }
  const policy = createLaneConsumerPolicy({
    service: options.service,
    lane: options.lane,
    registry: options.registry,
    ...(options.fallbackAfterMs === undefined ? {} : { fallbackAfterMs: options.fallbackAfterMs }),
    ...(options.strict === undefined ? {} : { strict: options.strict }),
    ...(options.register === undefined ? {} : { register: options.register }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  const groupId = resolveGroupId(options, policy.lane, path);
  const heartbeatEvery = options.consumer?.heartbeatInterval ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  const consumeOptions = { carriers: carriersOrDefault(options.carriers, `${path}.carriers`), ...(options.clock === undefined ? {} : { clock: options.clock }) };

  const consumer = kafka.consumer({ ...options.consumer, groupId });
  // Records wait here until the policy watches the registry: deciding before its first snapshot
  // would be deciding blind. A failed start rejects it, so that no record waits for ever (and the
  // disconnect, which waits for the record in progress, completes).
  let open!: () => void;
  let fail!: (error: unknown) => void;
  const policyStarted = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  policyStarted.catch(() => undefined);

  const eachMessage = async (payload: EachMessagePayload): Promise<void> => {
    // kafkajs does not heartbeat while eachMessage runs: a record held past the session timeout (a
    // fallback wait) would get the member evicted, its commit lost. Heartbeat until the handler
    // starts; the handler itself runs as under plain kafkajs (it may call payload.heartbeat()).
    const beat = setInterval(() => {
      payload.heartbeat().catch((error: unknown) => diag.debug(`graylane: ${path} heartbeat while a record waited failed`, error));
    }, heartbeatEvery);
    beat.unref();
    try {
      await policyStarted;
      const headers = toMessageHeaders(payload.message.headers);
      await consumeInLane(policy, headers, () => {
        clearInterval(beat);
        return handler(payload);
      }, consumeOptions);
    } finally {
      clearInterval(beat);
    }
  };

  const ready = joined(consumer);
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [...topics], fromBeginning: options.fromBeginning ?? false });
    await consumer.run({ ...options.run, eachMessage });
    await ready.done;
    await policy.start();
    open();
  } catch (error) {
    ready.cancel();
    fail(error);
    await policy.close();
    await consumer.disconnect().catch((e: unknown) => diag.debug(`graylane: ${path} disconnect after a failed start`, e));
    throw error;
  }

  let stopping: Promise<void> | undefined;
  return {
    groupId,
    consumer,
    policy,
    stop() {
      stopping ??= (async () => {
        try {
          await consumer.disconnect();
        } finally {
          await policy.close();
        }
      })();
      return stopping;
    },
  };
}
