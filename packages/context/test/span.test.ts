import { context, trace } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  ATTR_GRAYLANE_FALLBACK,
  ATTR_GRAYLANE_FALLBACK_REASON,
  ATTR_GRAYLANE_INSTANCE,
  ATTR_GRAYLANE_LANE,
  ATTR_GRAYLANE_LANE_REQUESTED,
  ATTR_GRAYLANE_LANE_SERVED,
  ATTR_GRAYLANE_RETRIES,
  ATTR_GRAYLANE_SERVICE,
  ensureContextManager,
  recordInboundLane,
  recordSelection,
} from '@graylane/context';
import type { RecordedSelection } from '@graylane/context';

const tracer = new BasicTracerProvider().getTracer('graylane-test');

/** Runs `fn` with a new span active and returns the span's attributes afterwards. */
function inSpan(fn: () => void): ReadableSpan['attributes'] {
  const span = tracer.startSpan('call');
  context.with(trace.setSpan(context.active(), span), fn);
  span.end();
  return (span as unknown as ReadableSpan).attributes;
}

function selection(overrides: Partial<RecordedSelection> = {}): RecordedSelection {
  return {
    service: 'b',
    instance: { host: '10.0.0.7', port: 8080 },
    requestedLane: 'gray',
    servedLane: 'gray',
    fallback: [],
    ...overrides,
  };
}

describe('recordSelection', () => {
  beforeAll(() => ensureContextManager());

  test('records the lanes, service and instance of a call served in its lane on the active span', () => {
    expect(inSpan(() => recordSelection(selection()))).toEqual({
      [ATTR_GRAYLANE_LANE_REQUESTED]: 'gray',
      [ATTR_GRAYLANE_LANE_SERVED]: 'gray',
      [ATTR_GRAYLANE_SERVICE]: 'b',
      [ATTR_GRAYLANE_INSTANCE]: '10.0.0.7:8080',
      [ATTR_GRAYLANE_FALLBACK]: '',
      [ATTR_GRAYLANE_FALLBACK_REASON]: '',
      [ATTR_GRAYLANE_RETRIES]: 0,
    });
  });

  test('records a fallback as the lane path and the reason of each lane passed over', () => {
    const one = selection({ servedLane: undefined, fallback: [{ lane: 'gray', reason: 'no-instance' }] });
    expect(inSpan(() => recordSelection(one))).toMatchObject({
      [ATTR_GRAYLANE_LANE_SERVED]: 'base',
      [ATTR_GRAYLANE_FALLBACK]: 'gray>base',
      [ATTR_GRAYLANE_FALLBACK_REASON]: 'no-instance',
    });
    const chain = selection({
      requestedLane: 'feature',
      servedLane: 'rc',
      fallback: [{ lane: 'feature', reason: 'connect-failed' }],
    });
    expect(inSpan(() => recordSelection(chain, trace.getActiveSpan(), 2))).toMatchObject({
      [ATTR_GRAYLANE_FALLBACK]: 'feature>rc',
      [ATTR_GRAYLANE_FALLBACK_REASON]: 'connect-failed',
      [ATTR_GRAYLANE_RETRIES]: 2,
    });
    const twoSteps = selection({
      servedLane: undefined,
      fallback: [
        { lane: 'feature', reason: 'all-unhealthy' },
        { lane: 'rc', reason: 'no-instance' },
      ],
    });
    expect(inSpan(() => recordSelection(twoSteps))).toMatchObject({
      [ATTR_GRAYLANE_FALLBACK]: 'feature>rc>base',
      [ATTR_GRAYLANE_FALLBACK_REASON]: 'all-unhealthy>no-instance',
    });
  });

  test('names a call without a lane base, and brackets an IPv6 host', () => {
    const base = selection({ requestedLane: undefined, servedLane: undefined, instance: { host: '::1', port: 80 } });
    expect(inSpan(() => recordSelection(base))).toMatchObject({
      [ATTR_GRAYLANE_LANE_REQUESTED]: 'base',
      [ATTR_GRAYLANE_LANE_SERVED]: 'base',
      [ATTR_GRAYLANE_INSTANCE]: '[::1]:80',
    });
  });

  test('writes to the span it is given rather than the active one', () => {
    const given = tracer.startSpan('given');
    const active = inSpan(() => recordSelection(selection(), given));
    expect(active).toEqual({});
    expect((given as unknown as ReadableSpan).attributes[ATTR_GRAYLANE_SERVICE]).toBe('b');
  });

  test('does nothing without a span, or with an ended one', () => {
    expect(() => recordSelection(selection())).not.toThrow();
    const ended = tracer.startSpan('ended');
    ended.end();
    recordSelection(selection(), ended);
    expect((ended as unknown as ReadableSpan).attributes).toEqual({});
  });
});

describe('recordInboundLane', () => {
  test('records the lane a request arrived with, base without one', () => {
    expect(inSpan(() => recordInboundLane('gray'))).toEqual({ [ATTR_GRAYLANE_LANE]: 'gray' });
    expect(inSpan(() => recordInboundLane(undefined))).toEqual({ [ATTR_GRAYLANE_LANE]: 'base' });
  });
});
