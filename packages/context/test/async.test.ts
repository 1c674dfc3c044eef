import { EventEmitter, once } from 'node:events';
import { PassThrough, Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setImmediate as immediate, setTimeout as sleep } from 'node:timers/promises';
import { bindEmitter, bindLane, ensureContextManager, getLane, withLane } from '@graylane/context';

beforeAll(() => ensureContextManager());

/** Runs `body` in each lane concurrently and returns what each saw. */
function inLanes<T>(lanes: readonly (string | undefined)[], body: () => Promise<T>): Promise<T[]> {
  return Promise.all(lanes.map((lane) => withLane(lane, body)));
}

const LANES = ['gray', 'blue', undefined, 'feature-x'] as const;

describe('the lane follows', () => {
  it('await chains', async () => {
    const deep = async (depth: number): Promise<string | undefined> => {
      await (depth % 2 ? sleep(1) : Promise.resolve());
      return depth === 0 ? getLane() : deep(depth - 1);
    };
    await expect(inLanes(LANES, () => deep(10))).resolves.toEqual(LANES);
  });

  it('setTimeout, setImmediate, process.nextTick and queueMicrotask callbacks', async () => {
    const scheduled = () =>
      Promise.all([
        new Promise((resolve) => setTimeout(() => resolve(getLane()), 2)),
        new Promise((resolve) => setImmediate(() => resolve(getLane()))),
        new Promise((resolve) => process.nextTick(() => resolve(getLane()))),
        new Promise((resolve) => queueMicrotask(() => resolve(getLane()))),
      ]);
    const seen = await inLanes(LANES, scheduled);
    expect(seen).toEqual(LANES.map((lane) => [lane, lane, lane, lane]));
  });

  it('Promise.all fan-out', async () => {
    const fanOut = () => Promise.all(Array.from({ length: 50 }, async (_, i) => (await sleep(i % 3), getLane())));
    const seen = await inLanes(LANES, fanOut);
    expect(seen).toEqual(LANES.map((lane) => Array(50).fill(lane)));
  });

  it('streams and pipelines', async () => {
    const run = async () => {
      const seen: (string | undefined)[] = [];
      const record = (chunk: unknown, _: unknown, done: (error?: Error | null, chunk?: unknown) => void) => {
        seen.push(getLane());
        setImmediate(() => done(null, chunk));
      };
      const sink = new Writable({ objectMode: true, write: record });
      await pipeline(Readable.from([1, 2, 3, 4, 5]), new Transform({ objectMode: true, transform: record }), sink);
      return seen;
    };
    const seen = await inLanes(LANES, run);
    expect(seen).toEqual(LANES.map((lane) => Array(10).fill(lane)));
  });

  it('AbortSignal timeouts, as a listener and as a rejected await', async () => {
    const run = async () => {
      const signal = AbortSignal.timeout(5);
      const listener = new Promise((resolve) => signal.addEventListener('abort', () => resolve(getLane()), { once: true }));
      const rejected = sleep(1_000, undefined, { signal }).catch(() => getLane());
      return Promise.all([listener, rejected]);
    };
    const seen = await inLanes(LANES, run);
    expect(seen).toEqual(LANES.map((lane) => [lane, lane]));
  });
});

describe('the lane does not leak', () => {
  it('out of withLane', async () => {
    await withLane('gray', async () => void (await sleep(1)));
    expect(getLane()).toBeUndefined();
  });

  it('into timers created outside a request', async () => {
    const ticks: (string | undefined)[] = [];
    const timer = setInterval(() => ticks.push(getLane()), 1);
    try {
      await inLanes(LANES, () => sleep(20));
    } finally {
      clearInterval(timer);
    }
    expect(ticks.length).toBeGreaterThan(2);
    expect(new Set(ticks)).toEqual(new Set([undefined]));
  });
});

describe('event emitters', () => {
  it('run a listener in the lane of the code that emits (AsyncLocalStorage semantics)', () => {
    const shared = new EventEmitter();
    const seen: (string | undefined)[] = [];
    shared.on('event', () => seen.push(getLane()));
    for (const lane of LANES) withLane(lane, () => shared.emit('event'));
    expect(seen).toEqual([...LANES]);
  });

  it('run a listener wrapped with bindLane in the lane it was registered in', () => {
    const shared = new EventEmitter();
    const seen: (string | undefined)[] = [];
    withLane('gray', () => shared.on('event', bindLane(() => seen.push(getLane()))));
    withLane('blue', () => shared.emit('event'));
    shared.emit('event');
    expect(seen).toEqual(['gray', 'gray']);
  });

  it('bindEmitter binds a request-scoped emitter, stream events included', async () => {
    const stream = withLane('gray', () => bindEmitter(new PassThrough()));
    const data = withLane('blue', () => once(stream, 'data').then(() => getLane()));
    const seen = new Promise((resolve) => stream.on('data', () => resolve(getLane())));
    withLane(undefined, () => stream.write('x'));
    await expect(seen).resolves.toBe('gray');
    await expect(data).resolves.toBe('blue');
    await immediate();
  });
});
