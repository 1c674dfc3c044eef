/**
 * One whole hop of a graylane service, in-process, without sockets (`micro.hop_ns`, `micro.hop_bytes`):
 * the request arrives carrying a lane (Express middleware: carriers read, lane context entered), the
 * handler calls the next service (axios interceptor: service recognised, instance selected in the
 * lane, URL rewritten, carrier headers written), and the outbound request config is ready to send.
 * The same hop without graylane (the handler alone, an identity interceptor) is timed beside it,
 * interleaved, and `hop_ns` is the difference: what graylane adds to one hop.
 *
 * Allocation per hop is the heap growth over a batch of hops during which no garbage collection ran
 * (checked with a `gc` performance observer; a batch a collection interrupted is run again).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PerformanceObserver } from 'node:perf_hooks';
import { AxiosHeaders, type InternalAxiosRequestConfig } from 'axios';
import { ensureContextManager } from '@graylane/context';
import { graylaneMiddleware } from '@graylane/express';
import { Bench } from 'tinybench';
import { routedInterceptor } from './micro-adapters.js';
import { median, nsPerOperation } from './rounds.js';
import type { Fulfilled } from './micro-adapters.js';

const BATCH = 500;

export interface HopBenchResult {
  /** One hop with graylane, ns. */
  readonly hopNs: number;
  /** The same hop without graylane, ns. */
  readonly hopBaseNs: number;
  /** Heap bytes allocated by one hop with graylane, and without. */
  readonly hopBytes: number;
  readonly hopBaseBytes: number;
}

export async function benchHop(options: { rounds: number; timeMs: number }): Promise<HopBenchResult> {
  ensureContextManager();
  let sink = 0;

  const route = routedInterceptor('c', 5000);
  const identity: Fulfilled = (config) => config;
  const middleware = graylaneMiddleware();
  const res = {} as ServerResponse;
  // A request as B receives it from A-gray: the lane in x-mse-tag and in baggage.
  const request = (): IncomingMessage =>
    ({
      method: 'GET',
      url: '/b',
      headers: { host: '127.0.0.1:4001', accept: 'application/json', 'user-agent': 'axios/1.13', 'x-mse-tag': 'gray', baggage: 'lane=gray' },
    }) as unknown as IncomingMessage;
  const config = (): InternalAxiosRequestConfig => ({ url: 'http://c/c', method: 'get', headers: new AxiosHeaders({ accept: 'application/json' }) });

  const withGraylane = (): Promise<InternalAxiosRequestConfig> =>
    new Promise((resolve, reject) => middleware(request(), res, () => Promise.resolve(config()).then(route).then(resolve, reject)));
  const without = (): Promise<InternalAxiosRequestConfig> =>
    new Promise((resolve, reject) => {
      request();
      Promise.resolve(config()).then(identity).then(resolve, reject);
    });

  // Check the hop does what it says before timing it.
  const routed = await withGraylane();
  if (!routed.url?.startsWith('http://127.0.0.1:') || routed.headers.get('x-mse-tag') !== 'gray' || routed.graylane?.servedLane !== 'gray') {
    throw new Error(`hop bench is misconfigured: ${routed.url} ${String(routed.headers.get('x-mse-tag'))}`);
  }

  const loop = (hop: () => Promise<InternalAxiosRequestConfig>) => async () => {
    for (let i = 0; i < BATCH; i++) sink += (await hop()).url!.length;
  };
  const bench = new Bench({ time: options.timeMs, warmupTime: 100 });
  bench.add('hop with graylane', loop(withGraylane)).add('hop without graylane', loop(without));
  const ns = await nsPerOperation(bench, options.rounds, BATCH);
  const hopBytes = await bytesPerHop(withGraylane);
  const hopBaseBytes = await bytesPerHop(without);
  if (sink === 0) throw new Error('benchmark work was optimised away');
  return {
    hopNs: ns('hop with graylane'),
    hopBaseNs: ns('hop without graylane'),
    hopBytes,
    hopBaseBytes,
  };
}

/** Median heap growth per hop over batches that no garbage collection interrupted. */
async function bytesPerHop(hop: () => Promise<InternalAxiosRequestConfig>): Promise<number> {
  let collections = 0;
  const observer = new PerformanceObserver((list) => (collections += list.getEntries().length));
  observer.observe({ entryTypes: ['gc'] });
  const samples: number[] = [];
  const hops = 200;
  try {
    for (let attempt = 0; attempt < 200 && samples.length < 9; attempt++) {
      // Let pending gc entries arrive before reading the counter.
      await new Promise((resolve) => setImmediate(resolve));
      const seen = collections;
      const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < hops; i++) await hop();
      const after = process.memoryUsage().heapUsed;
      await new Promise((resolve) => setImmediate(resolve));
      if (collections === seen && after > before) samples.push((after - before) / hops);
    }
  } finally {
    observer.disconnect();
  }
  if (samples.length === 0) throw new Error('every allocation sample was interrupted by a garbage collection');
  return median(samples);
}
