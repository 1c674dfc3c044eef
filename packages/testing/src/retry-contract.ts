/**
 * The retry contract every outbound adapter honours (axios, fetch/undici, node:http): a call whose
 * instance cannot be reached goes to the next instance of its lane, then along the lane's fallback
 * chain, within the retry options, and the span says where it went. Call
 * {@link describeRetryContract} from a test file with the adapter; the suite starts its own servers
 * on 127.0.0.1, port 0, and closes them.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, trace } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ErrorCode, isGraylaneError, laneMetadata } from '@graylane/core';
import type { GraylaneError } from '@graylane/core';
import type { Instance } from '@graylane/core';
import { ensureContextManager, withLane } from '@graylane/context';
import { createRouter } from '@graylane/router';
import type { LaneRouter, RetryOptions, Selection } from '@graylane/router';

/** A client of one outbound adapter, made for one test. */
export interface RetryClient {
  /**
   * Calls `url` with `method` (and a small string body for methods that take one) from the active
   * context, and resolves with the body of the answer: the name of the server. Rejects with the
   * error the adapter reports.
   */
  call(url: string, method: string): Promise<string>;
  /** Releases what the client holds. */
  close?(): Promise<void>;
}

/** What the contract needs of an adapter. */
export interface RetryAdapter {
  /** A client routing with `router`, passing `retry` and `onSelect` through to the adapter's options. */
  client(router: LaneRouter, options: { retry?: RetryOptions | false; onSelect: (selection: Selection) => void }): RetryClient;
  /** False for an adapter that retries connection failures only, not resets before the response. */
  readonly retriesResets: boolean;
}

/** The `code` of `error` and of each error in its `cause` chain. */
export function codesOf(error: unknown): unknown[] {
  const codes: unknown[] = [];
  for (let e = error as { code?: unknown; cause?: unknown } | undefined; e != null; e = e.cause as typeof e) codes.push(e.code);
  return codes;
}

/**
 * The first {@link GraylaneError} in `error`'s `cause` chain: `error` itself for axios and
 * node:http, the `cause` of fetch's `TypeError`.
 */
export function graylaneErrorIn(error: unknown): GraylaneError | undefined {
  for (let e = error as { cause?: unknown } | undefined, depth = 0; e != null && depth < 5; e = e.cause as typeof e, depth++) {
    if (isGraylaneError(e)) return e;
  }
  return undefined;
}

export function describeRetryContract(name: string, adapter: RetryAdapter): void {
  describe(`retry contract: ${name}`, () => {
    const servers: http.Server[] = [];
    const tracer = new BasicTracerProvider().getTracer('retry-contract');
    let router: LaneRouter;
    let selections: Selection[];
    let clients: RetryClient[];
    let port: { live: number; base: number; dead: number[]; reset: number; half: number };

    /** Starts a server; `behaviour` answers with the server's name unless told otherwise. */
    async function start(name: string, behaviour: 'answer' | 'reset' | 'half' = 'answer'): Promise<number> {
      const server = http.createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          if (behaviour === 'reset') req.socket.destroy();
          else if (behaviour === 'half') {
            res.writeHead(200, { 'content-length': '100' }).write(name);
            setTimeout(() => req.socket.destroy(), 20);
          } else res.end(name);
        });
      });
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return (server.address() as AddressInfo).port;
    }

    /** A port that refuses connections: a server's, closed. */
    async function dead(): Promise<number> {
      const server = http.createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      await new Promise((resolve) => server.close(resolve));
      return port;
    }

    function at(service: string, port: number, lane: string | undefined): Instance {
      return { id: `127.0.0.1:${port}`, service, host: '127.0.0.1', port, lane, weight: 1, healthy: true, enabled: true, metadata: laneMetadata(lane) };
    }

    function client(retry?: RetryOptions | false): RetryClient {
      const made = adapter.client(router, { retry, onSelect: (selection) => selections.push(selection) });
      clients.push(made);
      return made;
    }

    const ports = (list: Selection[]) => list.map((s) => s.instance.port);

    beforeAll(async () => {
      ensureContextManager();
      port = {
        live: await start('gray-live'),
        base: await start('base'),
        dead: [await dead(), await dead(), await dead()],
        reset: await start('reset', 'reset'),
        half: await start('half', 'half'),
      };
      router = createRouter(undefined, { fallback: { feature: ['rc'] }, strict: ['secure'] });
      const [d1, d2, d3] = port.dead as [number, number, number];
      router.update('b', [at('b', d1, 'gray'), at('b', port.live, 'gray'), at('b', port.base, undefined)]);
      router.update('one', [at('one', d1, 'gray'), at('one', port.base, undefined)]);
      router.update('chain', [at('chain', d1, 'feature'), at('chain', port.base, undefined)]);
      router.update('strict', [at('strict', d1, 'secure'), at('strict', d2, 'secure'), at('strict', port.base, undefined)]);
      router.update('many', [at('many', d1, 'gray'), at('many', d2, 'gray'), at('many', d3, 'gray'), at('many', port.base, undefined)]);
      router.update('reset', [at('reset', port.reset, 'gray'), at('reset', port.live, 'gray')]);
      router.update('half', [at('half', port.half, 'gray'), at('half', port.base, undefined)]);
    });

    beforeEach(() => {
      selections = [];
      clients = [];
    });

    afterEach(async () => {
      await Promise.all(clients.map((c) => c.close?.()));
    });

    afterAll(async () => {
      router.close();
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      })));
    });

    test('an idempotent call reaches the live instance of its lane when the other refuses the connection', async () => {
      const http = client();
      const perCall: Selection[][] = [];
      for (let i = 0; i < 4; i++) {
        selections = [];
        expect(await withLane('gray', () => http.call('http://b/x', 'GET'))).toBe('gray-live');
        perCall.push(selections);
      }
      expect(perCall.some((call) => call.length === 2)).toBe(true);
      for (const call of perCall) {
        expect(call.at(-1)).toMatchObject({ servedLane: 'gray', fallback: [], instance: { port: port.live } });
        expect(ports(call.slice(0, -1))).toEqual(call.length === 2 ? [port.dead[0]] : []);
      }
    });

    test('a POST is not retried: it fails with the connection error', async () => {
      const error = await withLane('gray', () => client().call('http://one/x', 'POST')).catch((e: unknown) => e);
      expect(codesOf(error)).toContain('ECONNREFUSED');
      expect(graylaneErrorIn(error)).toBeUndefined(); // base was never tried
      expect(ports(selections)).toEqual([port.dead[0]]);
    });

    test('a POST is retried when `methods` lists it, and falls back to base once its lane is exhausted', async () => {
      expect(await withLane('gray', () => client({ methods: ['POST'] }).call('http://one/x', 'POST'))).toBe('base');
      expect(selections.at(-1)).toMatchObject({ servedLane: undefined, fallback: [{ lane: 'gray', reason: 'connect-failed' }] });
    });

    test('a lane with every instance dead falls back along its chain to base, recording each step', async () => {
      expect(await withLane('feature', () => client().call('http://chain/x', 'GET'))).toBe('base');
      expect(selections.at(-1)?.fallback).toEqual([
        { lane: 'feature', reason: 'connect-failed' },
        { lane: 'rc', reason: 'no-instance' },
      ]);
    });

    test('a strict lane never leaves the lane: STRICT_LANE, the connection error as its cause, once its instances are exhausted', async () => {
      const error = await withLane('secure', () => client({ attempts: 5 }).call('http://strict/x', 'GET')).catch((e: unknown) => e);
      expect(graylaneErrorIn(error)).toMatchObject({ code: ErrorCode.STRICT_LANE, details: { service: 'strict', lane: 'secure', unreachable: true } });
      expect(codesOf(error)).toContain('ECONNREFUSED');
      expect(selections.map((s) => s.servedLane)).toEqual(['secure', 'secure']);
      expect(new Set(ports(selections))).toEqual(new Set(port.dead.slice(0, 2)));
    });

    test('`attempts` bounds the retries', async () => {
      const error = await withLane('gray', () => client({ attempts: 1 }).call('http://many/x', 'GET')).catch((e: unknown) => e);
      expect(codesOf(error)).toContain('ECONNREFUSED');
      expect(graylaneErrorIn(error)).toBeUndefined(); // instances were left: the network error

      expect(selections).toHaveLength(2);
      selections = [];
      expect(await withLane('gray', () => client({ attempts: 3 }).call('http://many/x', 'GET'))).toBe('base');
      expect(selections.map((s) => s.servedLane)).toEqual(['gray', 'gray', 'gray', undefined]);
    });

    test('`budgetMs` bounds the time in which retries start', async () => {
      const error = await withLane('gray', () => client({ attempts: 5, budgetMs: 0 }).call('http://many/x', 'GET')).catch((e: unknown) => e);
      expect(codesOf(error)).toContain('ECONNREFUSED');
      expect(graylaneErrorIn(error)).toBeUndefined();
      expect(selections).toHaveLength(1);
    });

    test('`retry: false` turns retries off', async () => {
      await expect(withLane('gray', () => client(false).call('http://one/x', 'GET'))).rejects.toBeDefined();
      expect(selections).toHaveLength(1);
    });

    test('the only instance killed: the first call after fails with the typed error naming service and lane, the connection error as its cause', async () => {
      const only = http.createServer((req, res) => {
        req.resume();
        req.on('end', () => res.end('only'));
      });
      await new Promise<void>((resolve) => only.listen(0, '127.0.0.1', resolve));
      const onlyPort = (only.address() as AddressInfo).port;
      router.update('only', [at('only', onlyPort, 'gray')]);
      const made = client();
      expect(await withLane('gray', () => made.call('http://only/x', 'GET'))).toBe('only');
      // SIGKILL as far as a client can tell: the listener and every connection gone at once.
      await new Promise<void>((resolve) => {
        only.close(() => resolve());
        only.closeAllConnections();
      });
      await new Promise((resolve) => setTimeout(resolve, 50)); // the kept-alive socket's close reaches the client
      selections = [];
      const error = await withLane('gray', () => made.call('http://only/x', 'GET')).catch((e: unknown) => e);
      const typed = graylaneErrorIn(error);
      expect(typed).toMatchObject({ code: ErrorCode.NO_INSTANCE, details: { service: 'only', lane: 'gray', unreachable: true } });
      expect(typed?.message).toContain('every candidate refused the connection');
      expect(codesOf(typed)).toContain('ECONNREFUSED');
      expect(ports(selections)).toEqual([onlyPort]);
    });

    if (adapter.retriesResets) {
      test('a connection reset before any response byte is retried on the next instance', async () => {
        for (let i = 0; i < 4; i++) expect(await withLane('gray', () => client().call('http://reset/x', 'GET'))).toBe('gray-live');
        expect(ports(selections)).toContain(port.reset);
      });

      test('a connection reset after the response began is not retried', async () => {
        await expect(withLane('gray', () => client().call('http://half/x', 'GET'))).rejects.toBeDefined();
        expect(ports(selections)).toEqual([port.half]);
      });
    }

    test('the active span records the instance that served the call, the fallback and the retries', async () => {
      const span = tracer.startSpan('call');
      await context.with(trace.setSpan(context.active(), span), () => withLane('gray', () => client().call('http://one/x', 'GET')));
      span.end();
      expect((span as unknown as ReadableSpan).attributes).toEqual({
        'graylane.lane.requested': 'gray',
        'graylane.lane.served': 'base',
        'graylane.service': 'one',
        'graylane.instance': `127.0.0.1:${port.base}`,
        'graylane.fallback': 'gray>base',
        'graylane.fallback.reason': 'connect-failed',
        'graylane.retries': 1,
      });
    });
  });
}
