/**
 * In-process micro-benchmarks of the two per-hop adapters, each against the same work without it:
 * - Express: `graylaneMiddleware()` invoked with a fake req/res and the handler as `next`, vs the
 *   handler called directly. The handler reads the lane, so the work is observable in both.
 * - axios: the request-config transform `attachLaneRouting` installs (service lookup, selection,
 *   URL rewrite, carrier headers), vs an identity interceptor. Both chained as axios chains
 *   interceptors (`promise.then(fulfilled)`) and awaited, both on fresh configs.
 * Variants are interleaved: each round runs every task once; figures are medians over rounds of
 * the per-round median nanoseconds per operation.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ROOT_CONTEXT, context } from '@opentelemetry/api';
import axios, { AxiosHeaders, type InternalAxiosRequestConfig } from 'axios';
import { attachLaneRouting } from '@graylane/axios';
import type { Instance } from '@graylane/core';
import { ensureContextManager, getLane, setLane } from '@graylane/context';
import { graylaneMiddleware } from '@graylane/express';
import { createRouter } from '@graylane/router';
import { Bench } from 'tinybench';
import { nsPerOperation } from './rounds.js';

const BATCH = 1_000;

export interface AdapterBenchResult {
  readonly expressNs: number;
  readonly expressBaseNs: number;
  readonly axiosNs: number;
  readonly axiosBaseNs: number;
}

export async function benchAdapters(options: { rounds: number; timeMs: number }): Promise<AdapterBenchResult> {
  ensureContextManager();
  let sink = 0;

  // Express: a request carrying the lane, the way the next hop receives it.
  const middleware = graylaneMiddleware();
  const req = {
    method: 'GET',
    url: '/b',
    headers: { host: '127.0.0.1:4001', accept: 'application/json', 'user-agent': 'axios/1.13', 'x-mse-tag': 'gray', baggage: '__microservice_tag__=gray' },
  } as unknown as IncomingMessage;
  const res = {} as ServerResponse;
  const handler = (): void => {
    if (getLane() === 'gray') sink += 2;
    else sink += 1;
  };

  // axios: a router that knows service b, 10 instances, half gray; requests made in the gray lane.
  const route = routedInterceptor('b', 4000);
  const identity: Fulfilled = (config) => config;
  const config = (): InternalAxiosRequestConfig => ({ url: 'http://b/b', method: 'get', headers: new AxiosHeaders({ accept: 'application/json' }) });
  const gray = setLane(ROOT_CONTEXT, 'gray');

  // Check each variant does what it says before timing it.
  await context.with(gray, async () => {
    const routed = await Promise.resolve(config()).then(route);
    if (!routed.url?.startsWith('http://127.0.0.1:') || routed.headers.get('x-mse-tag') !== 'gray' || routed.graylane?.servedLane !== 'gray') {
      throw new Error(`axios interceptor bench is misconfigured: ${routed.url} ${String(routed.headers.get('x-mse-tag'))}`);
    }
  });
  const before = sink;
  middleware(req, res, handler);
  if (sink - before !== 2) throw new Error('express middleware bench is misconfigured: the handler did not see the lane');

  const axiosLoop = (fn: Fulfilled) => () =>
    context.with(gray, async () => {
      // As axios runs a request interceptor: chained on a promise of the config.
      for (let i = 0; i < BATCH; i++) sink += (await Promise.resolve(config()).then(fn)).url!.length;
    });
  const bench = new Bench({ time: options.timeMs, warmupTime: 100 });
  bench
    .add('express: middleware + handler', () => {
      for (let i = 0; i < BATCH; i++) middleware(req, res, handler);
    })
    .add('express: handler alone', () => {
      for (let i = 0; i < BATCH; i++) handler();
    })
    .add('axios: interceptor transform', axiosLoop(route))
    .add('axios: identity interceptor', axiosLoop(identity));

  const ns = await nsPerOperation(bench, options.rounds, BATCH);
  if (sink === 0) throw new Error('benchmark work was optimised away');
  return {
    expressNs: ns('express: middleware + handler'),
    expressBaseNs: ns('express: handler alone'),
    axiosNs: ns('axios: interceptor transform'),
    axiosBaseNs: ns('axios: identity interceptor'),
  };
}

/** An axios request interceptor's fulfilled handler. */
/** An axios request interceptor: axios chains what it returns, a value or a promise (`promise.then(fulfilled)`). */
export type Fulfilled = (config: InternalAxiosRequestConfig) => InternalAxiosRequestConfig | Promise<InternalAxiosRequestConfig>;

/**
 * The request transform `attachLaneRouting` installs on a fresh axios instance, routing `service`
 * over 10 instances (ports from `firstPort`), half of them gray.
 */
export function routedInterceptor(service: string, firstPort: number): Fulfilled {
  const router = createRouter(undefined);
  router.update(
    service,
    Array.from({ length: 10 }, (_, i): Instance => ({
      id: `127.0.0.1:${firstPort + i}`,
      service,
      host: '127.0.0.1',
      port: firstPort + i,
      lane: i % 2 === 0 ? undefined : 'gray',
      weight: 1,
      healthy: true,
      enabled: true,
      metadata: i % 2 === 0 ? {} : { 'graylane.io/lane': 'gray' },
    })),
  );
  const client = axios.create();
  attachLaneRouting(client, { router });
  const handlers = (client.interceptors.request as unknown as { handlers: Array<{ fulfilled: Fulfilled } | null> }).handlers;
  const route = handlers.find((h) => h !== null)?.fulfilled;
  if (!route) throw new Error('attachLaneRouting installed no request interceptor');
  return route;
}

