import { diag } from '@opentelemetry/api';
import { ErrorCode, GraylaneError, isValidLane, systemClock } from '@graylane/core';
import type { Clock, Instance, InstanceRegistration, Registry } from '@graylane/core';

/** Default of {@link LaneConsumerOptions.fallbackAfterMs}. */
export const DEFAULT_FALLBACK_AFTER_MS = 5000;

/** Metadata key marking a registered instance as a message consumer, not an HTTP server. */
export const CONSUMER_METADATA_KEY = 'graylane.consumer';

/** What a consumer does with one message. */
export type LaneDecision =
  | { readonly action: 'handle' }
  | { readonly action: 'skip' }
  /** Ask again after `ms`: a lane consumer vanished less than `fallbackAfterMs` ago. */
  | { readonly action: 'wait'; readonly ms: number };

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
   * does not lose them to base). Also how long base waits at start-up for the first registry snapshot.
   * Default {@link DEFAULT_FALLBACK_AFTER_MS}.
   */
  readonly fallbackAfterMs?: number;
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
  /** Registers this consumer (if configured) and starts watching; resolves when registered. */
  start(): Promise<void>;
  /** Deregisters and stops watching. Idempotent. */
  close(): Promise<void>;
}

/** Policies made in this process, for their default identity. */
let policies = 0;

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
 * (the decision is `wait` until then), never for a strict lane.
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

  let live = new Set<string>();
  /** Lane -> when its last live consumer vanished. */
  const vanished = new Map<string, number>();
  /** Until the first snapshot, every lane counts as vanished at start. */
  let snapshotAt: number | undefined;
  let startedAt = clock.now();
  let unsubscribe: (() => void) | undefined;
  let registration: InstanceRegistration | undefined;

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
  };

  const decide = (messageLane: string | undefined): LaneDecision => {
    if (lane !== undefined) return messageLane === lane ? HANDLE : SKIP;
    if (messageLane === undefined) return HANDLE;
    if (live.has(messageLane) || isStrict(messageLane)) return SKIP;
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
    async start() {
      if (unsubscribe !== undefined) return;
      startedAt = clock.now();
      unsubscribe = registry.subscribe(service, onInstances);
      const reg = options.register ?? true;
      if (reg === false) return;
      const where = reg === true ? { host: '127.0.0.1', port: identityPort } : reg;
      registration = { service, host: where.host, port: where.port, lane, metadata: { [CONSUMER_METADATA_KEY]: 'true' } };
      await registry.register(registration);
    },
    async close() {
      unsubscribe?.();
      unsubscribe = undefined;
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
