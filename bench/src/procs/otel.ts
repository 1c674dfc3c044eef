/**
 * OpenTelemetry as most services run it, preloaded into a chain process with `--import`: the Node
 * SDK with HTTP instrumentation, W3C trace context and baggage propagation, every span recorded and
 * batched, then handed to an exporter that drops it (no collector, no network in the benchmark).
 * With OTEL_GRAYLANE=1, graylane's LanePropagator is added after the W3C propagators, as the
 * propagation docs say to.
 *
 *   NODE_OPTIONS=--import=./dist/procs/otel.js node dist/procs/plain-service.js
 */
import { CompositePropagator, ExportResultCode, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { LanePropagator } from '@graylane/context';

const dropping: SpanExporter = {
  export: (_spans: ReadableSpan[], done: (result: ExportResult) => void) => done({ code: ExportResultCode.SUCCESS }),
  shutdown: async () => undefined,
};
const propagators = [new W3CTraceContextPropagator(), new W3CBaggagePropagator(), ...(process.env['OTEL_GRAYLANE'] === '1' ? [new LanePropagator()] : [])];
const sdk = new NodeSDK({
  instrumentations: [new HttpInstrumentation()],
  spanProcessors: [new BatchSpanProcessor(dropping)],
  textMapPropagator: new CompositePropagator({ propagators }),
});
sdk.start();
process.once('SIGTERM', () => void sdk.shutdown());
