import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { ErrorCode, GraylaneError } from '@graylane/core';
import {
  IDEMPOTENT_METHODS,
  compileRetry,
  createRouter,
  isConnectFailure,
  isConnectionReset,
  isReplayableBody,
} from '../src/index.js';
import type { LaneRouter } from '../src/index.js';
import { instance } from './helpers.js';

function errorOf(fn: () => unknown): GraylaneError {
  try {
    fn();
  } catch (error) {
    if (error instanceof GraylaneError) return error;
    throw error;
  }
  throw new Error('expected a GraylaneError');
}

/** ids of `ports` on the helpers' host. */
const ids = (...ports: number[]) => new Set(ports.map((p) => `10.0.0.1:${p}`));

describe('select with unreachable instances', () => {
  let router: LaneRouter;

  beforeEach(() => {
    router = createRouter(undefined, { fallback: { feature: ['rc'] }, strict: ['secure'] });
    router.update('orders', [
      instance(1),
      instance(2),
      instance(3, 'gray'),
      instance(4, 'gray'),
      instance(5, 'rc'),
      instance(6, 'secure'),
      instance(7, 'secure'),
      instance(8, 'feature'),
    ]);
  });

  it('stays in the lane while an instance of it is left, with no fallback recorded', () => {
    for (let i = 0; i < 10; i++) {
      const s = router.select('orders', 'gray', { unreachable: ids(3) });
      expect(s.instance.port).toBe(4);
      expect(s).toMatchObject({ requestedLane: 'gray', servedLane: 'gray', fallback: [] });
    }
  });

  it('passes over a lane whose instances are all unreachable, with reason connect-failed, then follows the chain', () => {
    expect(router.select('orders', 'feature', { unreachable: ids(8) })).toMatchObject({
      servedLane: 'rc',
      fallback: [{ lane: 'feature', reason: 'connect-failed' }],
    });
    expect(router.select('orders', 'feature', { unreachable: ids(8, 5) })).toMatchObject({
      servedLane: undefined,
      fallback: [
        { lane: 'feature', reason: 'connect-failed' },
        { lane: 'rc', reason: 'connect-failed' },
      ],
    });
  });

  it('records the usual reason for lanes that had no usable instance anyway', () => {
    const s = router.select('orders', 'blue', { unreachable: ids(1) });
    expect(s.instance.port).toBe(2);
    expect(s.fallback).toEqual([{ lane: 'blue', reason: 'no-instance' }]);
  });

  it('never leaves a strict lane: STRICT_LANE once its instances are all unreachable', () => {
    expect(router.select('orders', 'secure', { unreachable: ids(6) }).instance.port).toBe(7);
    const error = errorOf(() => router.select('orders', 'secure', { unreachable: ids(6, 7) }));
    expect(error.code).toBe(ErrorCode.STRICT_LANE);
    expect(error.details).toMatchObject({ service: 'orders', lane: 'secure', reason: 'connect-failed', tried: ['secure'] });
  });

  it('fails with NO_INSTANCE naming every lane tried once base is unreachable too', () => {
    const error = errorOf(() => router.select('orders', 'gray', { unreachable: ids(1, 2, 3, 4) }));
    expect(error.code).toBe(ErrorCode.NO_INSTANCE);
    expect(error.details).toMatchObject({ tried: ['gray', 'base'], reason: 'connect-failed' });
    expect(error.message).toContain('gray (connect-failed) → base (connect-failed)');
  });

  it('takes the cached path for an empty set: the same shared selections', () => {
    const seen = new Set([router.select('orders', 'gray'), router.select('orders', 'gray')]);
    expect(seen.has(router.select('orders', 'gray', { unreachable: new Set() }))).toBe(true);
  });

  it('walks the instance list current at the retry', () => {
    router.update('orders', [instance(1), instance(9, 'gray')]);
    expect(router.select('orders', 'gray', { unreachable: ids(3, 4) })).toMatchObject({ servedLane: 'gray', fallback: [] });
  });
});

describe('compileRetry', () => {
  const router = createRouter(undefined);
  router.update('orders', [instance(1), instance(2), instance(3), instance(4, 'gray'), instance(5, 'gray')]);

  it('retries the idempotent methods by default, in any case, and reads no method as GET', () => {
    const policy = compileRetry(undefined);
    for (const method of IDEMPOTENT_METHODS) expect(policy.allows(method.toLowerCase())).toBe(true);
    expect(policy.allows(undefined)).toBe(true);
    expect(policy.allows('POST')).toBe(false);
    expect(policy.allows('PATCH')).toBe(false);
  });

  it('retries the methods listed, and nothing when off', () => {
    expect(compileRetry({ methods: ['post'] }).allows('POST')).toBe(true);
    expect(compileRetry({ methods: ['post'] }).allows('GET')).toBe(false);
    expect(compileRetry(false).allows('GET')).toBe(false);
    expect(compileRetry({ attempts: 0 }).allows('GET')).toBe(false);
    expect(compileRetry(false).start(router.select('orders', undefined)).next(router)).toBeUndefined();
  });

  it('makes at most `attempts` retries, each on an instance not tried yet', () => {
    const attempts = compileRetry({ attempts: 2 }).start(router.select('orders', undefined));
    const ports = [attempts.current.instance.port];
    for (let next = attempts.next(router); next !== undefined; next = attempts.next(router)) ports.push(next.instance.port);
    expect(new Set(ports).size).toBe(3);
    expect(attempts.retries).toBe(2);
    expect(attempts.current.instance.port).toBe(ports[2]);
  });

  it('stops when every instance the lane may use was tried', () => {
    const attempts = compileRetry({ attempts: 10 }).start(router.select('orders', 'gray'));
    const lanes: (string | undefined)[] = [];
    for (let next = attempts.next(router); next !== undefined; next = attempts.next(router)) lanes.push(next.servedLane);
    expect(lanes).toEqual(['gray', undefined, undefined, undefined]);
    expect(attempts.current.fallback).toEqual([{ lane: 'gray', reason: 'connect-failed' }]);
    expect(attempts.retries).toBe(4);
  });

  it('starts no retry once the time budget is spent', () => {
    const attempts = compileRetry({ attempts: 10, budgetMs: 0 }).start(router.select('orders', undefined));
    expect(attempts.next(router)).toBeUndefined();
    expect(attempts.retries).toBe(0);
  });

  it('rejects invalid options with CONFIG_INVALID and the path', () => {
    for (const [options, path] of [
      [{ attempts: -1 }, 'retry.attempts'],
      [{ attempts: 1.5 }, 'retry.attempts'],
      [{ budgetMs: Number.NaN }, 'retry.budgetMs'],
      [{ methods: 'GET' as unknown as string[] }, 'retry.methods'],
    ] as const) {
      const error = errorOf(() => compileRetry(options));
      expect(error.code).toBe(ErrorCode.CONFIG_INVALID);
      expect(error.details).toMatchObject({ path });
    }
  });
});

describe('connection failure predicates', () => {
  /** The error of connecting to a port nothing listens on. */
  async function refused(): Promise<Error> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    return new Promise((resolve) => net.connect(port, '127.0.0.1').on('error', resolve));
  }

  it('recognises a refused connection, also as the cause of a wrapping error and inside an AggregateError', async () => {
    const error = await refused();
    expect(isConnectFailure(error)).toBe(true);
    expect(isConnectFailure(new Error('fetch failed', { cause: new Error('wrapped', { cause: error }) }))).toBe(true);
    expect(isConnectFailure(new AggregateError([error, error]))).toBe(true);
    expect(isConnectionReset(error)).toBe(false);
  });

  it('recognises resets, and no other error', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(isConnectionReset(reset)).toBe(true);
    expect(isConnectionReset(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }))).toBe(true);
    expect(isConnectFailure(reset)).toBe(false);
    const timeout = Object.assign(new Error('timeout of 10ms exceeded'), { code: 'ETIMEDOUT' });
    expect(isConnectFailure(timeout)).toBe(false);
    expect(isConnectionReset(timeout)).toBe(false);
    expect(isConnectFailure(new AggregateError([]))).toBe(false);
    expect(isConnectFailure(undefined)).toBe(false);
  });
});

describe('isReplayableBody', () => {
  it('accepts no body, strings and bytes, and nothing that may have been read', async () => {
    for (const body of [undefined, null, '', 'x', Buffer.from('x'), new Uint8Array(1), new ArrayBuffer(1)]) expect(isReplayableBody(body)).toBe(true);
    const { Readable } = await import('node:stream');
    for (const body of [Readable.from(['x']), new FormData(), new Blob(['x']), (async function* () {})(), { toString: () => 'x' }]) {
      expect(isReplayableBody(body)).toBe(false);
    }
  });
});
