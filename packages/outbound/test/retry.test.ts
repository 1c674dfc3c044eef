import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { ErrorCode, GraylaneError } from '@graylane/core';
import { createRouter } from '@graylane/router';
import { IDEMPOTENT_METHODS, compileRetry, isConnectFailure, isConnectionReset, isReplayableBody } from '../src/index.js';
import { instance } from '@graylane/testing';

describe('compileRetry', () => {
  const router = createRouter(undefined);
  router.update('orders', [instance('orders', 1, undefined), instance('orders', 2, undefined), instance('orders', 3, undefined), instance('orders', 4, 'gray'), instance('orders', 5, 'gray')]);

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

  it('reports each failed attempt to the router, also once the attempts are spent, and with retries off', () => {
    const reported: string[] = [];
    const spy = jest.spyOn(router, 'reportFailure').mockImplementation((i, kind) => void reported.push(`${i.id} ${String(kind)}`));
    try {
      const attempts = compileRetry({ attempts: 1 }).start(router.select('orders', 'gray'));
      const first = attempts.current.instance.id;
      const second = attempts.next(router)?.instance.id;
      expect(attempts.next(router)).toBeUndefined();
      expect(reported).toEqual([`${first} connect-failed`, `${second} connect-failed`]);
      reported.length = 0;
      const off = compileRetry(false).start(router.select('orders', undefined));
      expect(off.next(router)).toBeUndefined();
      expect(reported).toEqual([`${off.current.instance.id} connect-failed`]);
    } finally {
      spy.mockRestore();
    }
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
      let error: unknown;
      try {
        compileRetry(options);
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(GraylaneError);
      expect(error).toMatchObject({ code: ErrorCode.CONFIG_INVALID, details: { path } });
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
