import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ErrorCode, type Registry } from '@graylane/core';
import { getLane, withLane } from '@graylane/context';
import { createMemoryRegistry } from '@graylane/registry';
import { createFakeClock } from '@graylane/testing';
import {
  CONSUMER_METADATA_KEY,
  consumeInLane,
  createLaneConsumerPolicy,
  injectLaneIntoMessage,
  recordJobLane,
  runJobInLane,
  type LaneConsumerPolicy,
  type LaneCopies,
} from '@graylane/messaging';

const manager = new AsyncLocalStorageContextManager();
beforeAll(() => context.setGlobalContextManager(manager.enable()));
afterAll(() => {
  manager.disable();
  context.disable();
});

async function until(condition: () => boolean, what: string, maxMs = 2000): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('createLaneConsumerPolicy', () => {
  let registry: Registry;
  const open: LaneConsumerPolicy[] = [];
  beforeEach(() => {
    registry = createMemoryRegistry();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((p) => p.close()));
    await registry.close();
  });
  const policy = async (lane: string | undefined, extra: Partial<Parameters<typeof createLaneConsumerPolicy>[0]> = {}) => {
    const p = createLaneConsumerPolicy({ service: 'orders-consumer', lane, registry, fallbackAfterMs: 1000, ...extra });
    open.push(p);
    await p.start();
    return p;
  };

  it('a gray consumer takes only its own lane', async () => {
    const gray = await policy('gray');
    expect(gray.decide('gray').action).toBe('handle');
    expect(gray.decide(undefined).action).toBe('skip');
    expect(gray.decide('blue').action).toBe('skip');
  });

  it('a base consumer skips a lane with a live consumer and handles base', async () => {
    const clock = createFakeClock();
    const base = await policy(undefined, { clock, register: false });
    await policy('gray', { register: { host: '127.0.0.1', port: 41001 } });
    await until(() => base.liveLanes().has('gray'), 'the gray consumer to be seen');
    expect(base.decide(undefined).action).toBe('handle');
    expect(base.decide('gray').action).toBe('skip');
  });

  it('registers the consumer with its lane and the consumer marker', async () => {
    await policy('gray', { register: { host: '127.0.0.1', port: 41002 } });
    const seen: string[] = [];
    const stop = registry.subscribe('orders-consumer', (list) => {
      for (const i of list) seen.push(`${i.lane}:${i.metadata[CONSUMER_METADATA_KEY]}`);
    });
    await until(() => seen.length > 0, 'a snapshot');
    stop();
    expect(seen).toContain('gray:true');
  });

  it('base takes a vanished lane only after fallbackAfterMs, and not when it comes back', async () => {
    const clock = createFakeClock();
    const base = await policy(undefined, { clock, register: false });
    const gray = await policy('gray', { register: { host: '127.0.0.1', port: 41003 } });
    await until(() => base.liveLanes().has('gray'), 'gray live');
    await gray.close();
    await until(() => !base.liveLanes().has('gray'), 'gray gone');
    const first = base.decide('gray');
    expect(first).toEqual({ action: 'wait', ms: 1000 });
    await clock.advance(999);
    expect(base.decide('gray').action).toBe('wait');
    await clock.advance(1);
    expect(base.decide('gray').action).toBe('handle');
  });

  it('a lane that never had a consumer goes to base at once once the first snapshot is in', async () => {
    const clock = createFakeClock();
    const base = await policy(undefined, { clock, register: { host: '127.0.0.1', port: 41004 } });
    await until(() => base.decide('blue').action !== 'wait', 'the first snapshot');
    expect(base.decide('blue').action).toBe('handle');
  });

  it('before the first snapshot base waits at most fallbackAfterMs', () => {
    const clock = createFakeClock();
    const silent: Registry = { ...createMemoryRegistry(), subscribe: () => () => undefined, kind: 'silent' };
    const base = createLaneConsumerPolicy({ service: 's', registry: silent, fallbackAfterMs: 500, clock, register: false });
    void base.start();
    expect(base.decide('gray')).toEqual({ action: 'wait', ms: 500 });
    expect(base.decide(undefined).action).toBe('handle');
  });

  it('strict lanes keep their messages', async () => {
    const base = await policy(undefined, { strict: ['gray'], register: false });
    await until(() => base.decide('blue').action === 'handle', 'the first snapshot');
    expect(base.decide('gray').action).toBe('skip');
    const byPredicate = await policy(undefined, { strict: (l) => l.startsWith('g'), register: false });
    await until(() => byPredicate.decide('blue').action === 'handle', 'the first snapshot');
    expect(byPredicate.decide('green').action).toBe('skip');
  });

  it('rejects a bad configuration with a typed error and a path', () => {
    expect(() => createLaneConsumerPolicy({ service: '', registry })).toThrow(expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }));
    expect(() => createLaneConsumerPolicy({ service: 's', registry, lane: 'no spaces!' })).toThrow(/lane/);
    expect(() => createLaneConsumerPolicy({ service: 's', registry, fallbackAfterMs: -1 })).toThrow(/fallbackAfterMs/);
  });

  describe('with laneCopies (a group or queue per lane)', () => {
    /** Fake lane copies: `existing` lanes have a group/queue; adopters are recorded. */
    const fakeCopies = (existing: string[] = []) => {
      const events: string[] = [];
      const checks: string[] = [];
      let ended: ((error?: unknown) => void) | undefined;
      const copies: LaneCopies = {
        exists: async (l) => {
          checks.push(l);
          return existing.includes(l);
        },
        adopt: async (l, end) => {
          events.push(`adopt:${l}`);
          ended = end;
          return { stop: async () => void events.push(`stop:${l}`) };
        },
      };
      return { copies, events, checks, end: (e?: unknown) => ended?.(e) };
    };
    const start = async (p: LaneConsumerPolicy) => {
      open.push(p);
      await p.start();
      return p;
    };

    it('skips a lane seen live without waiting, adopts it fallbackAfterMs after it left, lets go when it is back', async () => {
      const clock = createFakeClock();
      const f = fakeCopies();
      const base = await start(createLaneConsumerPolicy({ service: 's', registry, fallbackAfterMs: 1000, clock, register: false, laneCopies: f.copies }));
      const gray = await start(createLaneConsumerPolicy({ service: 's', lane: 'gray', registry, register: { host: '127.0.0.1', port: 41101 } }));
      await until(() => base.liveLanes().has('gray'), 'gray live');
      expect(base.decide('gray')).toEqual({ action: 'skip' });
      await gray.close();
      await until(() => !base.liveLanes().has('gray'), 'gray gone');
      // Its group/queue has the copy: base never waits on it, and never handles it from its own copy.
      expect(base.decide('gray')).toEqual({ action: 'skip' });
      await clock.advance(999);
      expect(f.events).toEqual([]);
      expect(base.adopting()).toEqual([]);
      await clock.advance(1);
      await until(() => f.events.length === 1, 'the adopter');
      expect(f.events).toEqual(['adopt:gray']);
      expect(base.adopting()).toEqual(['gray']);
      expect(base.decide('gray')).toEqual({ action: 'skip' });
      const back = await start(createLaneConsumerPolicy({ service: 's', lane: 'gray', registry, register: { host: '127.0.0.1', port: 41102 } }));
      await until(() => f.events.length === 2, 'the adopter to stop');
      expect(f.events).toEqual(['adopt:gray', 'stop:gray']);
      await until(() => base.adopting().length === 0, 'the adopter to be gone');
      expect(f.checks).toEqual([]); // a lane seen live is never asked about
      await back.close();
    });

    it('a lane never seen live is checked once: no copy, base handles it; a copy, base skips it and adopts it', async () => {
      const clock = createFakeClock();
      const f = fakeCopies(['gray']);
      const base = await start(createLaneConsumerPolicy({ service: 's', registry, fallbackAfterMs: 500, clock, register: false, laneCopies: f.copies }));
      expect(base.decide('blue')).toEqual({ action: 'wait', ms: expect.any(Number) });
      expect(base.decide('gray').action).toBe('wait');
      await until(() => base.decide('blue').action !== 'wait' && base.decide('gray').action !== 'wait', 'the checks');
      expect(base.decide('blue')).toEqual({ action: 'handle' });
      expect(base.decide('gray')).toEqual({ action: 'skip' });
      expect(base.decide('blue')).toEqual({ action: 'handle' });
      expect(f.checks.sort()).toEqual(['blue', 'gray']);
      await clock.advance(500);
      await until(() => f.events.length === 1, 'the adopter');
      expect(f.events).toEqual(['adopt:gray']);
      await base.close();
      expect(f.events).toEqual(['adopt:gray', 'stop:gray']);
    });

    it('lanes named up front are looked for at start and adopted with no message of theirs reaching base', async () => {
      const clock = createFakeClock();
      const f = fakeCopies(['gray']);
      const base = await start(
        createLaneConsumerPolicy({ service: 's', registry, fallbackAfterMs: 500, clock, register: false, laneCopies: f.copies, lanes: ['gray', 'blue', 'secure', 'gray'], strict: ['secure'] }),
      );
      await until(() => f.checks.length === 2, 'the checks of the lanes named');
      expect(f.checks.sort()).toEqual(['blue', 'gray']); // once each; a strict lane is left alone
      await clock.advance(499);
      expect(f.events).toEqual([]);
      await clock.advance(1);
      await until(() => f.events.length === 1, 'the adopter');
      expect(f.events).toEqual(['adopt:gray']);
      expect(base.decide('blue')).toEqual({ action: 'handle' }); // no copy of its own
      expect(() => createLaneConsumerPolicy({ service: 's', registry, laneCopies: f.copies, lanes: ['no spaces!'] })).toThrow(
        expect.objectContaining({ code: ErrorCode.CONFIG_INVALID, details: expect.objectContaining({ path: 'messaging.consumer(s).lanes' }) }),
      );
      expect(() => createLaneConsumerPolicy({ service: 's', registry, laneCopies: f.copies, lanes: 'gray' as unknown as string[] })).toThrow(/lanes/);
    });

    it('never adopts nor checks a strict lane; base messages are handled', async () => {
      const clock = createFakeClock();
      const f = fakeCopies(['gray']);
      const base = await start(createLaneConsumerPolicy({ service: 's', registry, fallbackAfterMs: 0, clock, register: false, laneCopies: f.copies, strict: ['gray'] }));
      expect(base.decide('gray')).toEqual({ action: 'skip' });
      expect(base.decide(undefined)).toEqual({ action: 'handle' });
      await clock.advance(1000);
      expect(f.checks).toEqual([]);
      expect(f.events).toEqual([]);
    });

    it('a failed check makes base handle the lane meanwhile and asks again later; an adopter that ended is found out again', async () => {
      const clock = createFakeClock();
      let fail = true;
      const adopted: string[] = [];
      let end: ((e?: unknown) => void) | undefined;
      const copies: LaneCopies = {
        exists: async () => {
          if (fail) throw new Error('broker away');
          return true;
        },
        adopt: async (l, ended) => {
          adopted.push(l);
          end = ended;
          return { stop: async () => undefined };
        },
      };
      const base = await start(createLaneConsumerPolicy({ service: 's', registry, fallbackAfterMs: 100, clock, register: false, laneCopies: copies }));
      base.decide('gray');
      await until(() => base.decide('gray').action === 'handle', 'the failed check');
      fail = false;
      await clock.advance(1000);
      expect(base.decide('gray').action).toBe('wait');
      await until(() => base.decide('gray').action === 'skip', 'the second check');
      await clock.advance(100);
      await until(() => adopted.length === 1, 'the adopter');
      end?.(new Error('queue deleted'));
      expect(base.adopting()).toEqual([]);
      expect(base.decide('gray').action).toBe('wait');
    });

    it('rejects laneCopies that are not { exists, adopt }', () => {
      expect(() => createLaneConsumerPolicy({ service: 's', registry, laneCopies: {} as LaneCopies })).toThrow(
        expect.objectContaining({ code: ErrorCode.CONFIG_INVALID, details: { path: 'messaging.consumer(s).laneCopies' } }),
      );
    });
  });

  describe('consumeInLane', () => {
    it('runs the handler in the message lane, base for unmarked and for malformed headers', async () => {
      const registry = createMemoryRegistry();
      const base = createLaneConsumerPolicy({ service: 'c', registry, register: false, fallbackAfterMs: 0 });
      await base.start();
      const lanes: (string | undefined)[] = [];
      await withLane('outer', async () => {
        expect(await consumeInLane(base, injectLaneIntoMessage({}, 'gray'), () => lanes.push(getLane()))).toBe(true);
        await consumeInLane(base, {}, () => lanes.push(getLane()));
        await consumeInLane(base, { 'x-mse-tag': Buffer.from([0xff, 0x00, 0x20]), baggage: 'x'.repeat(100_000) }, () => lanes.push(getLane()));
      });
      expect(lanes).toEqual(['gray', undefined, undefined]);
      await base.close();
      await registry.close();
    });

    it('skips what the policy skips', async () => {
      const registry = createMemoryRegistry();
      const gray = createLaneConsumerPolicy({ service: 'c', lane: 'gray', registry, register: false });
      let ran = 0;
      expect(await consumeInLane(gray, {}, () => ran++)).toBe(false);
      expect(ran).toBe(0);
      await registry.close();
    });
  });

  describe('recordJobLane / runJobInLane', () => {
    it('a job runs in the lane it was recorded in unless told otherwise', () => {
      const recorded = withLane('gray', () => recordJobLane());
      expect(runJobInLane(recorded, () => getLane())).toBe('gray');
      expect(withLane('blue', () => runJobInLane(recorded, () => getLane(), { lane: 'current' }))).toBe('blue');
      expect(withLane('blue', () => runJobInLane(recordJobLane({ lane: undefined }), () => getLane()))).toBeUndefined();
    });
  });

  describe('several consumers in one process, and a policy that keeps waiting', () => {
    it('registers each default consumer apart, so one leaving does not take the other out', async () => {
      const registry = createMemoryRegistry();
      const gray = createLaneConsumerPolicy({ service: 'jobs', lane: 'gray', registry });
      const blue = createLaneConsumerPolicy({ service: 'jobs', lane: 'blue', registry });
      await gray.start();
      await blue.start();
      let lanes: (string | undefined)[] = [];
      const stop = registry.subscribe('jobs', (list) => (lanes = list.map((i) => i.lane).sort()));
      await until(() => lanes.length === 2, 'both consumers listed');
      expect(lanes).toEqual(['blue', 'gray']);
      await gray.close();
      await until(() => lanes.length === 1, 'the gray consumer gone');
      expect(lanes).toEqual(['blue']);
      stop();
      await blue.close();
      await registry.close();
    });

    it('handles the message after MAX_WAIT_ROUNDS when the policy never stops answering wait', async () => {
      const policy: LaneConsumerPolicy = {
        service: 'jobs',
        lane: undefined,
        decide: () => ({ action: 'wait', ms: 0 }),
        liveLanes: () => new Set(),
        adopting: () => [],
        start: async () => undefined,
        close: async () => undefined,
      };
      let handled = 0;
      await expect(consumeInLane(policy, injectLaneIntoMessage({}, 'gray'), () => void handled++)).resolves.toBe(true);
      expect(handled).toBe(1);
    });
  });
});
