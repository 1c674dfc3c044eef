/**
 * Micro-benchmark of lane propagation per hop: what an inbound extract plus an outbound inject
 * costs, with graylane alone and composed with OpenTelemetry's W3C propagators the way
 * @opentelemetry/sdk-node registers them, and what `context.with` adds to an awaited call.
 */
import { ROOT_CONTEXT, context, propagation } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { LanePropagator, ensureContextManager, extractLane, injectLane, setLane } from '@graylane/context';
import { Bench } from 'tinybench';
import { nsPerOperation } from './rounds.js';

/** Operations per benchmark iteration, so that each sample is well above the timer's resolution. */
const BATCH = 1_000;
/** Rounds of interleaved runs; each figure is the median over rounds. */
const ROUNDS = 5;

/** Nanoseconds per operation of each variant. */
export interface PropagateResult {
  /** `extractLane` of inbound headers plus `injectLane` into outbound headers. */
  readonly extractInjectNs: number;
  /** `propagation.extract` + `propagation.inject` through W3C trace context + baggage + LanePropagator. */
  readonly extractInjectWithOtelNs: number;
  /** The same through W3C trace context + baggage alone: the baseline graylane adds to. */
  readonly otelBaselineNs: number;
  /** What `await context.with(ctx, fn)` costs over `await fn()` (AsyncLocalStorage context manager); near zero it can come out negative. */
  readonly alsNs: number;
}

const commonHeaders = {
  host: 'orders.internal:8080',
  accept: 'application/json',
  'user-agent': 'graylane-bench',
  'content-type': 'application/json',
};
const inbound = { ...commonHeaders, 'x-mse-tag': 'gray', baggage: 'lane=gray' };
const inboundOtel = {
  ...commonHeaders,
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  'x-mse-tag': 'gray',
  baggage: 'tenant=acme,lane=gray',
};

/** Runs the propagation micro-benchmarks and returns nanoseconds per operation. */
export async function benchPropagate(): Promise<PropagateResult> {
  ensureContextManager();
  // What @opentelemetry/sdk-node registers by default, without and with graylane's propagator.
  const otel = new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] });
  const withLane = new CompositePropagator({
    propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator(), new LanePropagator()],
  });
  let sink = 0;
  const laneCtx = setLane(ROOT_CONTEXT, 'gray');
  const step = async (): Promise<void> => {
    await undefined;
    sink++;
  };

  const bench = new Bench({ time: 300, warmup: true });
  bench
    .add('extract+inject', () => {
      for (let i = 0; i < BATCH; i++) {
        const out: Record<string, unknown> = {};
        injectLane(out, extractLane(inbound));
        sink += (out['x-mse-tag'] as string).length;
      }
    })
    .add('extract+inject (otel)', () => {
      propagation.setGlobalPropagator(withLane);
      for (let i = 0; i < BATCH; i++) {
        const out: Record<string, string> = {};
        propagation.inject(propagation.extract(ROOT_CONTEXT, inboundOtel), out);
        sink += out['x-mse-tag']!.length;
      }
      propagation.disable();
    })
    .add('extract+inject (otel baseline)', () => {
      propagation.setGlobalPropagator(otel);
      for (let i = 0; i < BATCH; i++) {
        const out: Record<string, string> = {};
        propagation.inject(propagation.extract(ROOT_CONTEXT, inboundOtel), out);
        sink += out['baggage']!.length;
      }
      propagation.disable();
    })
    .add('await fn()', async () => {
      for (let i = 0; i < BATCH; i++) await step();
    })
    .add('await context.with(ctx, fn)', async () => {
      for (let i = 0; i < BATCH; i++) await context.with(laneCtx, step);
    });

  const ns = await nsPerOperation(bench, ROUNDS, BATCH);
  if (sink === 0) throw new Error('benchmark work was optimised away');
  return {
    extractInjectNs: ns('extract+inject'),
    extractInjectWithOtelNs: ns('extract+inject (otel)'),
    otelBaselineNs: ns('extract+inject (otel baseline)'),
    alsNs: ns('await context.with(ctx, fn)') - ns('await fn()'),
  };
}

