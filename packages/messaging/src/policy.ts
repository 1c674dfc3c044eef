import { diag } from '@opentelemetry/api';
import { ErrorCode, GraylaneError, isValidLane, systemClock } from '@graylane/core';
import type { Clock, ClockTimer, Instance, InstanceRegistration, Registry } from '@graylane/core';

/** Default of {@link LaneConsumerOptions.fallbackAfterMs}. */
export const DEFAULT_FALLBACK_AFTER_MS = 5000;

/** Metadata key marking a registered instance as a message consumer, not an HTTP server. */
export const CONSUMER_METADATA_KEY = 'graylane.consumer';

/**
 * Most lanes a base policy with {@link LaneConsumerOptions.laneCopies} tracks (lanes seen live or in
 * messages). A message of a lane beyond them is handled by base directly, as a lane that never had a
 * consumer (a diagnostic is logged once).
 */
export const MAX_TRACKED_LANES = 1024;

/** How long a lane's copy check may take before it counts as failed. */
const CHECK_TIMEOUT_MS = 5000;
/** A lane whose copy check failed is checked again after this long; a failed adopter is started again after this long. */
const RETRY_MS = 1000;
/** How long a message of a lane being checked waits before the policy is asked again. */
const CHECK_WAIT_MS = 50;

/** What a consumer does with one message. */
export type LaneDecision =
  | { readonly action: 'handle' }
  | { readonly action: 'skip' }
  /**
   * Ask again after `ms`: a lane consumer vanished less than `fallbackAfterMs` ago (without
   * `laneCopies`), or (with `laneCopies`) whether the lane has its own copy is being found out.
   */
  | { readonly action: 'wait'; readonly ms: number };

/** A running adopter of a lane's copy, from {@link LaneCopies.adopt}. */
export interface LaneAdopter {
  /** Stops consuming the lane's copy (what is in hand is finished first). Idempotent. */
  stop(): Promise<void>;
}

/**
 * The lanes' own copies of each message, for a broker where every lane of a service has its own
 * consumer group or queue (Kafka, RabbitMQ). Given to a base policy, it makes base skip a lane's
 * messages whenever the lane has its own copy, and adopt the copy of a lane gone for
 * `fallbackAfterMs`. The broker adapters make it; an application does not.
 */
export interface LaneCopies {
  /**
   * Whether `lane`'s own group/queue exists. Asked once per lane (the answer is cached; a lane seen
   * live has one without asking), never on the path of a message; a rejection is asked again later.
   */
  exists(lane: string): Promise<boolean>;
  /**
   * Starts consuming `lane`'s own group/queue as the lane's consumer would (its messages handled in
   * its lane, other lanes' skipped), without registering. Call `ended` if it stops by itself (its
   * queue was deleted, its consumer crashed for good).
   */
  adopt(lane: string, ended: (error?: unknown) => void): Promise<LaneAdopter>;
}

const HANDLE: LaneDecision = Object.freeze({ action: 'handle' });
const SKIP: LaneDecision = Object.freeze({ action: 'skip' });

/** Options of {@link createLaneConsumerPolicy}. */
export interface LaneConsumerOptions {
  /** The consumer service: consumers of one service with different lanes share its messages. */
  readonly service: string;
  /** The consumer's own lane; `undefined` for base. */
  readonly lane?: string | undefined;
  /** The registry the application already uses; live lane consumers are watched there. */
  readonly registry: Registry;
  /**
   * How long a lane consumer that vanished keeps its messages before base takes them (so a restart
   * does not lose them to base). With `laneCopies`, how long a lane has had no live consumer before
   * base adopts its copy. Without, also how long base waits at start-up for the first registry
   * snapshot. Default {@link DEFAULT_FALLBACK_AFTER_MS}.
   */
  readonly fallbackAfterMs?: number;
  /**
   * Base only: each lane's own copy of every message (its group or queue), from the broker adapter.
   * Given, base skips a lane's messages whenever the lane has its own copy (seen live, or found to
   * exist), never waits on them, and handles them only when the lane never had one; a lane without
   * a live consumer for `fallbackAfterMs` (not strict) has its copy adopted until it is live again.
   * Without it (BullMQ: one queue, base drains), base waits `fallbackAfterMs`, then handles.
   */
  readonly laneCopies?: LaneCopies;
  /**
   * Base with `laneCopies`: lanes whose own copy base looks for at start (found out once, then
   * adopted once gone `fallbackAfterMs`), so that a base started after a lane's last consumer left,
   * by a release that ended, adopts what waits in the lane's copy although no message of that lane
   * reaches base again. Lanes seen live, or in a message of base's own copy, are found anyway.
   * Strict lanes are left alone.
   */
  readonly lanes?: readonly string[];
  /** Lanes whose messages base never takes (the router's strict lanes). */
  readonly strict?: readonly string[] | ((lane: string) => boolean);
  /**
   * Register this consumer as an instance of `service` with its lane, so that others see it live.
   * Default true. `host`/`port` only identify it: by default the loopback host and a port made of
   * the process id and the policy's number in the process, so that several consumers of one process
   * register apart. Give them explicitly where processes share a host in one registry at scale.
   */
  readonly register?: boolean | { readonly host: string; readonly port: number };
  /** The clock; tests pass a fake one. */
  readonly clock?: Clock;
}

/** A lane consumer policy: an O(1), I/O-free decision per message over a watched registry snapshot. */
export interface LaneConsumerPolicy {
  readonly service: string;
  /** The consumer's lane; `undefined` for base. */
  readonly lane: string | undefined;
  /** What to do with a message carrying `messageLane` (`undefined` for base). */
  decide(messageLane: string | undefined): LaneDecision;
  /** Lanes with a live consumer of this service, from the last snapshot. */
  liveLanes(): ReadonlySet<string>;
  /**
   * The lanes whose copy this (base) policy adopts now: an adopter is starting, running or still
   * stopping (a lane leaves the list once its adopter has stopped). Empty without `laneCopies`.
   */
  adopting(): string[];
  /** Registers this consumer (if configured) and starts watching; resolves when registered. */
  start(): Promise<void>;
  /** Stops its adopters, deregisters and stops watching. Idempotent. */
  close(): Promise<void>;
}

/** Whether a lane has its own copy, as far as a base policy with `laneCopies` knows. */
type CopyState =
  | { readonly state: 'yes' }
  | { readonly state: 'no' }
  | { readonly state: 'checking'; readonly since: number }
  | { readonly state: 'failed'; readonly at: number };

interface Adoption {
  /** Resolves with the adopter, or `undefined` when it failed to start. */
  readonly starting: Promise<LaneAdopter | undefined>;
  adopter?: LaneAdopter;
  stopping?: Promise<void>;
  /** When it failed to start: it is started again {@link RETRY_MS} later. */
  failedAt?: number;
}

/** Policies made in this process, for their default identity. */
let policies = 0;

/** The `lanes` option: valid lane names (base is no lane); refused with the option's path otherwise. */
function lanesOption(lanes: unknown, path: string): readonly string[] {
  if (lanes === undefined) return [];
  if (!Array.isArray(lanes) || !lanes.every((l): l is string => typeof l === 'string' && isValidLane(l) && l !== 'base')) {
    throw new GraylaneError(ErrorCode.CONFIG_INVALID, `${path}: expected a list of lane names (not base)`, { details: { path, value: lanes } });
  }
  return [...new Set(lanes)];
}

function strictPredicate(strict: LaneConsumerOptions['strict']): (lane: string) => boolean {
  if (strict === undefined) return () => false;
  if (typeof strict === 'function') return (lane) => strict(lane) === true;
  const set = new Set(strict);
  return (lane) => set.has(lane);
}

/**
 * The lane consumer policy. A gray consumer handles only its own lane's messages. A base consumer
 * handles base messages, and a lane's messages when that lane has no live consumer of `service` in the
 * registry: at once if the lane never had one, after `fallbackAfterMs` if its consumer just vanished
 * (the decision is `wait` until then), never for a strict lane. With `laneCopies` (Kafka, RabbitMQ),
 * base instead skips the messages of every lane that has its own copy, and adopts that copy once the
 * lane has had no live consumer for `fallbackAfterMs` (see {@link LaneConsumerOptions.laneCopies}).
 */
export function createLaneConsumerPolicy(options: LaneConsumerOptions): LaneConsumerPolicy {
  const { service, registry } = options;
  const lane = options.lane === undefined || options.lane === 'base' ? undefined : options.lane;
  const path = `messaging.consumer(${service})`;
  if (typeof service !== 'string' || service.length === 0) {
    throw new GraylaneError(ErrorCode.CONFIG_INVALID, `${path}.service: a non-empty service name is required`, { details: { path: `${path}.service` } });
  }
  if (lane !== undefined && !isValidLane(lane)) {
    throw new GraylaneError(ErrorCode.CONFIG_INVALID, `${path}.lane: "${lane}" is not a lane name`, { details: { path: `${path}.lane`, lane } });
  }
  const fallbackAfterMs = options.fallbackAfterMs ?? DEFAULT_FALLBACK_AFTER_MS;
  if (!Number.isFinite(fallbackAfterMs) || fallbackAfterMs < 0) {
    throw new GraylaneError(ErrorCode.CONFIG_INVALID, `${path}.fallbackAfterMs: expected a finite number >= 0`, {
      details: { path: `${path}.fallbackAfterMs`, value: fallbackAfterMs },
    });
  }
  const clock = options.clock ?? systemClock;
  // Distinct per policy of this process: pid × 64 + n, folded into 1-65535.
  const identityPort = ((process.pid * 64 + policies++) % 65535) + 1;
  const isStrict = strictPredicate(options.strict);
  const copies = lane === undefined ? options.laneCopies : undefined;
  const expected = copies === undefined ? [] : lanesOption(options.lanes, `${path}.lanes`);
  if (copies !== undefined && (typeof copies !== 'object' || typeof copies.exists !== 'function' || typeof copies.adopt !== 'function')) {
    throw new GraylaneError(ErrorCode.CONFIG_INVALID, `${path}.laneCopies: expected { exists, adopt } functions`, { details: { path: `${path}.laneCopies` } });
  }

  let live = new Set<string>();
  /** Lane -> when its last live consumer vanished. */
  const vanished = new Map<string, number>();
  /** Until the first snapshot, every lane counts as vanished at start. */
  let snapshotAt: number | undefined;
  let startedAt = clock.now();
  let unsubscribe: (() => void) | undefined;
  let registration: InstanceRegistration | undefined;
  /** With `laneCopies`: what is known of each lane's own copy, and the running adoptions. */
  const known = new Map<string, CopyState>();
  const adoptions = new Map<string, Adoption>();
  let closed = false;
  let timer: ClockTimer | undefined;
  let timerAt: number | undefined;
  let warnedFull = false;

  const onInstances = (instances: readonly Instance[]): void => {
    const next = new Set<string>();
    for (const instance of instances) {
      if (instance.lane !== undefined && instance.healthy && instance.enabled) next.add(instance.lane);
    }
    const now = clock.now();
    for (const gone of live) if (!next.has(gone)) vanished.set(gone, now);
    for (const back of next) vanished.delete(back);
    live = next;
    snapshotAt ??= now;
    if (copies !== undefined) {
      for (const seen of next) if (!isStrict(seen)) track(seen, { state: 'yes' });
      reconcile();
    }
  };

  /** Records what is known of `l`'s copy; false when the lane is not tracked (too many lanes). */
  const track = (l: string, state: CopyState): boolean => {
    if (!known.has(l) && known.size >= MAX_TRACKED_LANES) {
      if (!warnedFull) diag.warn(`graylane: ${path} tracks ${MAX_TRACKED_LANES} lanes already; messages of further lanes are handled by base directly`);
      warnedFull = true;
      return false;
    }
    known.set(l, state);
    return true;
  };

  const check = (l: string): void => {
    if (copies === undefined || closed) return;
    const since = clock.now();
    if (!track(l, { state: 'checking', since })) return;
    let answered = false;
    const answer = (state: CopyState) => {
      if (answered) return;
      answered = true;
      clock.clearTimeout(deadline);
      // A lane seen live meanwhile is 'yes' already; keep it.
      if (known.get(l)?.state !== 'checking' || closed) return;
      known.set(l, state);
      if (state.state === 'yes') reconcile();
    };
    const deadline = clock.setTimeout(() => {
      diag.warn(`graylane: ${path} could not find out in ${CHECK_TIMEOUT_MS} ms whether lane ${l} has its own copy; its messages are handled by base meanwhile`);
      answer({ state: 'failed', at: clock.now() });
    }, CHECK_TIMEOUT_MS).unref();
    Promise.resolve()
      .then(() => copies.exists(l))
      .then(
        (exists) => answer({ state: exists === true ? 'yes' : 'no' }),
        (error: unknown) => {
          diag.warn(`graylane: ${path} could not find out whether lane ${l} has its own copy; its messages are handled by base meanwhile`, error);
          answer({ state: 'failed', at: clock.now() });
        },
      );
  };

  /** With `laneCopies`: the decision for a lane message that base's own copy brought. */
  const decideCopy = (messageLane: string): LaneDecision => {
    const state = known.get(messageLane);
    if (live.has(messageLane)) return SKIP;
    switch (state?.state) {
      case 'yes':
        return SKIP;
      case 'no':
        return HANDLE;
      case 'checking':
        return { action: 'wait', ms: CHECK_WAIT_MS };
      case 'failed':
        if (clock.now() - state.at < RETRY_MS) return HANDLE;
        check(messageLane);
        return known.get(messageLane)?.state === 'checking' ? { action: 'wait', ms: CHECK_WAIT_MS } : HANDLE;
      default:
        check(messageLane);
        return known.get(messageLane)?.state === 'checking' ? { action: 'wait', ms: CHECK_WAIT_MS } : HANDLE;
    }
  };

  const schedule = (at: number): void => {
    if (closed || (timerAt !== undefined && timerAt <= at)) return;
    clock.clearTimeout(timer);
    timerAt = at;
    timer = clock.setTimeout(() => {
      timer = undefined;
      timerAt = undefined;
      reconcile();
    }, Math.max(0, at - clock.now())).unref();
  };

  const stopAdoption = (l: string, adoption: Adoption): void => {
    if (adoption.stopping !== undefined) return;
    if (adoption.failedAt !== undefined) {
      adoptions.delete(l);
      return;
    }
    adoption.stopping = (async () => {
      const adopter = await adoption.starting;
      try {
        await adopter?.stop();
      } catch (error) {
        diag.warn(`graylane: ${path} could not stop the adopter of lane ${l}`, error);
      } finally {
        if (adoptions.get(l) === adoption) adoptions.delete(l);
      }
    })();
    void adoption.stopping.then(() => reconcile());
  };

  const startAdoption = (l: string): void => {
    if (copies === undefined) return;
    let adoption: Adoption;
    const ended = (error?: unknown) => {
      if (adoptions.get(l) !== adoption || adoption.stopping !== undefined) return;
      diag.warn(`graylane: ${path}: the adopter of lane ${l} stopped by itself; whether the lane has its own copy is found out again`, error);
      adoptions.delete(l);
      known.delete(l);
      vanished.delete(l);
    };
    const starting = Promise.resolve()
      .then(() => copies.adopt(l, ended))
      .then(
        (adopter) => {
          adoption.adopter = adopter;
          return adopter;
        },
        (error: unknown) => {
          diag.warn(`graylane: ${path} could not adopt lane ${l}; trying again in ${RETRY_MS} ms`, error);
          adoption.failedAt = clock.now();
          return undefined;
        },
      );
    adoption = { starting };
    adoptions.set(l, adoption);
    // Live again, or closed, while it started: stop it at once.
    void starting.then(() => reconcile());
  };

  /** Starts the adopters that are due, stops those whose lane is live again, and schedules the next due one. */
  function reconcile(): void {
    if (copies === undefined) return;
    if (closed) {
      for (const [l, adoption] of adoptions) stopAdoption(l, adoption);
      return;
    }
    const now = clock.now();
    let next = Infinity;
    for (const [l, state] of known) {
      const adoption = adoptions.get(l);
      if (state.state !== 'yes' || isStrict(l) || live.has(l) || snapshotAt === undefined) {
        if (adoption !== undefined) stopAdoption(l, adoption);
        continue;
      }
      let since = vanished.get(l);
      if (since === undefined) {
        // Found to exist, never seen live here: gone since base knows the registry (or since now).
        since = Math.max(snapshotAt, now);
        vanished.set(l, since);
      }
      const due = Math.max(since + fallbackAfterMs, adoption?.failedAt === undefined ? 0 : adoption.failedAt + RETRY_MS);
      if (due > now) next = Math.min(next, due);
      else if (adoption === undefined) startAdoption(l);
      else if (adoption.failedAt !== undefined) {
        adoptions.delete(l);
        startAdoption(l);
      }
    }
    if (next !== Infinity) schedule(next);
  }

  const decide = (messageLane: string | undefined): LaneDecision => {
    if (lane !== undefined) return messageLane === lane ? HANDLE : SKIP;
    if (messageLane === undefined) return HANDLE;
    if (isStrict(messageLane)) return SKIP;
    if (copies !== undefined) return decideCopy(messageLane);
    if (live.has(messageLane)) return SKIP;
    const since = snapshotAt === undefined ? startedAt : vanished.get(messageLane);
    if (since === undefined) return HANDLE;
    const left = since + fallbackAfterMs - clock.now();
    return left > 0 ? { action: 'wait', ms: left } : HANDLE;
  };

  return {
    service,
    lane,
    decide,
    liveLanes: () => live,
    adopting: () => [...adoptions.entries()].filter(([, a]) => a.failedAt === undefined).map(([l]) => l),
    async start() {
      if (unsubscribe !== undefined || closed) return;
      startedAt = clock.now();
      unsubscribe = registry.subscribe(service, onInstances);
      for (const l of expected) if (!isStrict(l) && !known.has(l)) check(l);
      const reg = options.register ?? true;
      if (reg === false) return;
      const where = reg === true ? { host: '127.0.0.1', port: identityPort } : reg;
      registration = { service, host: where.host, port: where.port, lane, metadata: { [CONSUMER_METADATA_KEY]: 'true' } };
      await registry.register(registration);
    },
    async close() {
      unsubscribe?.();
      unsubscribe = undefined;
      if (copies !== undefined) {
        closed = true;
        clock.clearTimeout(timer);
        timer = undefined;
        reconcile();
        await Promise.allSettled([...adoptions.values()].map((a) => a.stopping));
      }
      const r = registration;
      registration = undefined;
      if (r !== undefined) {
        try {
          await registry.deregister(r);
        } catch (error) {
          diag.warn(`graylane: ${path} could not deregister`, error);
        }
      }
    },
  };
}
