import { diag } from '@opentelemetry/api';
import { ErrorCode, GraylaneError } from '@graylane/core';
import type { Clock, Registry } from '@graylane/core';
import { carriersOrDefault } from '@graylane/context';
import type { Carriers } from '@graylane/context';
import { consumeInLane, createLaneConsumerPolicy } from '@graylane/messaging';
import type { LaneConsumerPolicy, LaneCopies } from '@graylane/messaging';
import type { Admin, Consumer, ConsumerConfig, ConsumerRunConfig, EachMessagePayload, Kafka } from 'kafkajs';
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
  /**
   * Base only: adopt the group of a lane that has had no live consumer for `fallbackAfterMs` (see
   * the package README, "Semantics"). Default true. `false`: base waits `fallbackAfterMs` for a
   * vanished lane's records, holding the partition, then handles them from its own group (a record
   * base received before its registry view dropped the lane is then left in the lane's group).
   * Adoption needs the lanes' group ids: with a string `groupId`, base does not adopt.
   */
  readonly adopt?: boolean;
  /**
   * Base only, with adoption: lanes whose group base looks for at start, so that a base (re)started
   * after a lane's last consumer left (a release that ended) adopts what waits there although no
   * record of that lane reaches base again. Lanes seen live, or in a record base receives, are found
   * anyway. Name the lanes your releases use.
   */
  readonly lanes?: readonly string[];
}

/** A running lane consumer, made by {@link runLaneConsumer}. */
export interface KafkaLaneConsumer {
  /** The consumer group it joined. */
  readonly groupId: string;
  /** The kafkajs consumer (for its events, pause/resume, seek). */
  readonly consumer: Consumer;
  /** The lane policy deciding per record (`policy.adopting()`: the lanes whose group base adopts now). */
  readonly policy: LaneConsumerPolicy;
  /**
   * Disconnects the consumer (after the record in progress; it leaves its group), stops base's
   * adopters, then deregisters it: base's `fallbackAfterMs` for this lane counts from when the
   * consumer is really gone. Records of the lane produced meanwhile stay in this lane's group, for
   * its next consumer or base's adopter. Idempotent.
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

/** Topic -> partition -> the offset a lane consumer starts from where its group has none committed. */
type Seeds = Map<string, Map<number, string>>;

/**
 * Where a lane's group has no committed offset (a new group, a new partition): the offset its
 * consumer starts from there, read before it joins (the latest offset, or the earliest with
 * `fromBeginning`). On joining, the consumer seeks there, which commits it: a record produced after
 * the lane consumer started then stays in the lane's group even when the consumer stops before it
 * committed anything, for its next consumer or base's adopter (a group with no committed offset
 * would start at the latest offset again, past it). A failure is logged, never thrown.
 */
async function readSeeds(kafka: Kafka, groupId: string, topics: readonly (string | RegExp)[], fromBeginning: boolean, path: string): Promise<Seeds> {
  const seeds: Seeds = new Map();
  const admin = kafka.admin();
  try {
    await admin.connect();
    const patterns = topics.filter((t): t is RegExp => t instanceof RegExp);
    const names = new Set(topics.filter((t): t is string => typeof t === 'string'));
    if (patterns.length > 0) for (const t of await admin.listTopics()) if (patterns.some((p) => p.test(t))) names.add(t);
    if (names.size === 0) return seeds;
    const committed = await admin.fetchOffsets({ groupId, topics: [...names] });
    for (const { topic, partitions } of committed) {
      const missing = new Set(partitions.filter((p) => Number(p.offset) < 0).map((p) => p.partition));
      if (missing.size === 0) continue;
      const ends = await admin.fetchTopicOffsets(topic);
      seeds.set(topic, new Map(ends.filter((e) => missing.has(e.partition)).map((e) => [e.partition, fromBeginning ? e.low : e.high])));
    }
  } catch (error) {
    diag.debug(`graylane: ${path} could not read the starting offsets of the lane group ${groupId}`, error);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  return seeds;
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
  if (options.adopt !== undefined && typeof options.adopt !== 'boolean') throw invalid(`${path}.adopt`, 'expected a boolean', { value: options.adopt });
  const lane = options.lane === undefined || options.lane === 'base' ? undefined : options.lane;
  const adopts = lane === undefined && options.adopt !== false && typeof options.groupId !== 'string';
  let admin: Admin | undefined;
  let adminReady: Promise<Admin> | undefined;
  const laneGroup = (l: string) => resolveGroupId(options, l, path);
  const laneCopies: LaneCopies = {
    async exists(l) {
      adminReady ??= (async () => {
        admin = kafka.admin();
        await admin.connect();
        return admin;
      })();
      adminReady.catch(() => (adminReady = undefined));
      const { groups } = await (await adminReady).describeGroups([laneGroup(l)]);
      // A group with committed offsets (or members) exists; an unknown one is described as Dead.
      return groups.some((g) => g.state !== 'Dead');
    },
    async adopt(l, ended) {
      const adopter = await runLaneConsumer(kafka, { ...options, lane: l, groupId: laneGroup(l), register: false, adopt: false }, handler);
      const removeCrash = adopter.consumer.on(adopter.consumer.events.CRASH, (event) => {
        if (!event.payload.restart) ended(event.payload.error);
      });
      return {
        async stop() {
          removeCrash();
          await adopter.stop();
        },
      };
    },
  };
  const policy = createLaneConsumerPolicy({
    service: options.service,
    lane: options.lane,
    registry: options.registry,
    ...(adopts ? { laneCopies } : {}),
    ...(adopts && options.lanes !== undefined ? { lanes: options.lanes } : {}),
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
    if (lane !== undefined) {
      const seeds = await readSeeds(kafka, groupId, topics, options.fromBeginning ?? false, path);
      if (seeds.size > 0) {
        const removeSeek = consumer.on(consumer.events.GROUP_JOIN, (event) => {
          removeSeek();
          // Applied (and committed) before the first fetch of these partitions.
          for (const [topic, partitions] of Object.entries(event.payload.memberAssignment)) {
            for (const partition of partitions) {
              const offset = seeds.get(topic)?.get(partition);
              if (offset !== undefined) consumer.seek({ topic, partition, offset });
            }
          }
        });
      }
    }
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
    await disconnectAdmin();
    throw error;
  }

  async function disconnectAdmin(): Promise<void> {
    const pending = adminReady;
    adminReady = undefined;
    if (pending === undefined) return;
    await pending.catch(() => undefined);
    await admin?.disconnect().catch((e: unknown) => diag.debug(`graylane: ${path} admin disconnect`, e));
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
          await disconnectAdmin();
        }
      })();
      return stopping;
    },
  };
}
