import { ROOT_CONTEXT, defaultTextMapGetter, defaultTextMapSetter, propagation, trace } from '@opentelemetry/api';
import type { TextMapPropagator } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator, suppressTracing } from '@opentelemetry/core';
import { LanePropagator, ensureContextManager, getLane, setLane } from '@graylane/context';

const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

function composite(...propagators: TextMapPropagator[]): TextMapPropagator {
  return new CompositePropagator({ propagators });
}

function inject(propagator: TextMapPropagator, ctx = ROOT_CONTEXT): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagator.inject(ctx, carrier, defaultTextMapSetter);
  return carrier;
}

describe('LanePropagator', () => {
  beforeAll(() => ensureContextManager());

  it('on its own, writes the lane headers and baggage, and reads them back', () => {
    const propagator = new LanePropagator();
    const carrier = inject(propagator, setLane(ROOT_CONTEXT, 'gray'));
    expect(carrier).toEqual({ 'x-mse-tag': 'gray', baggage: 'lane=gray' });
    expect(getLane(propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter))).toBe('gray');
  });

  it('writes nothing for the base lane without baggage', () => {
    expect(inject(new LanePropagator())).toEqual({});
  });

  const orders: [string, () => TextMapPropagator][] = [
    ['after W3C baggage', () => composite(new W3CTraceContextPropagator(), new W3CBaggagePropagator(), new LanePropagator())],
    ['before W3C baggage', () => composite(new LanePropagator(), new W3CTraceContextPropagator(), new W3CBaggagePropagator())],
  ];

  describe.each(orders)('composed %s, like @opentelemetry/sdk-node', (_order, make) => {
    const inbound = { traceparent, 'x-mse-tag': 'gray', baggage: 'tenant=acme,lane=gray' };

    it('round-trips trace context, baggage and lane as one set of headers', () => {
      const propagator = make();
      const ctx = propagator.extract(ROOT_CONTEXT, inbound, defaultTextMapGetter);
      expect(getLane(ctx)).toBe('gray');
      expect(trace.getSpanContext(ctx)?.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
      const out = inject(propagator, ctx);
      expect(out['x-mse-tag']).toBe('gray');
      expect(out['traceparent']).toBe(traceparent);
      expect(out['baggage']?.split(',').sort()).toEqual(['lane=gray', 'tenant=acme']);
    });

    it('writes a lane changed by the application, not the inbound one', () => {
      const propagator = make();
      const ctx = setLane(propagator.extract(ROOT_CONTEXT, inbound, defaultTextMapGetter), 'blue');
      const out = inject(propagator, ctx);
      expect(out['x-mse-tag']).toBe('blue');
      expect(out['baggage']?.split(',').sort()).toEqual(['lane=blue', 'tenant=acme']);
    });

    it('lists every field once', () => {
      expect(make().fields().sort()).toEqual(['baggage', 'traceparent', 'tracestate', 'x-mse-tag']);
    });
  });

  it('placed after W3C baggage, drops an invalid inbound lane entry instead of passing it on', () => {
    const propagator = orders[0]![1]();
    const ctx = propagator.extract(ROOT_CONTEXT, { baggage: 'tenant=acme,lane=%2Fetc' }, defaultTextMapGetter);
    expect(getLane(ctx)).toBeUndefined();
    expect(inject(propagator, ctx)).toEqual({ baggage: 'tenant=acme' });
  });

  it('keeps the lane of the given context when the carrier has none', () => {
    const ctx = new LanePropagator().extract(setLane(ROOT_CONTEXT, 'gray'), {}, defaultTextMapGetter);
    expect(getLane(ctx)).toBe('gray');
  });

  it('works as the global propagator', () => {
    propagation.setGlobalPropagator(composite(new W3CBaggagePropagator(), new LanePropagator()));
    try {
      const ctx = propagation.extract(ROOT_CONTEXT, { 'x-mse-tag': 'gray' });
      expect(getLane(ctx)).toBe('gray');
      const out: Record<string, string> = {};
      propagation.inject(ctx, out);
      expect(out).toEqual({ 'x-mse-tag': 'gray', baggage: 'lane=gray' });
    } finally {
      propagation.disable();
    }
  });

  it('after W3C baggage, leaves the header it wrote; a header the carrier already had with another lane is rewritten', () => {
    const ctx = composite(new W3CBaggagePropagator(), new LanePropagator()).extract(ROOT_CONTEXT, { 'x-mse-tag': 'gray', baggage: 'tenant=acme,lane=gray' }, defaultTextMapGetter);
    const lane = new LanePropagator();
    // As the composite runs them: W3C baggage first writes the header, then the lane propagator.
    const written: Record<string, string> = {};
    new W3CBaggagePropagator().inject(ctx, written, defaultTextMapSetter);
    const header = written['baggage'];
    lane.inject(ctx, written, defaultTextMapSetter);
    expect(written).toEqual({ baggage: header, 'x-mse-tag': 'gray' });
    // A carrier that came with a stale header (another lane, the lane twice, or a lane-less one) is corrected.
    for (const stale of ['tenant=acme,lane=blue', 'lane=gray,lane=blue', 'tenant=acme', 'xlane=gray', 'lane=grayish']) {
      const carrier: Record<string, string> = { baggage: stale };
      lane.inject(ctx, carrier, defaultTextMapSetter);
      expect(carrier['baggage']?.split(',').sort()).toEqual(['lane=gray', 'tenant=acme']);
    }
    // In base, a header still holding a lane entry is corrected too.
    const base = setLane(ctx, undefined);
    const carrier: Record<string, string> = { baggage: 'tenant=acme,lane=gray' };
    lane.inject(base, carrier, defaultTextMapSetter);
    expect(carrier['baggage']).toBe('tenant=acme');
  });

  it("writes the baggage header OpenTelemetry's codec writes, the same on every call from one context, none with tracing suppressed", () => {
    const inbound = { traceparent, 'x-mse-tag': 'gray', baggage: 'tenant=acme,user=a%20b;p=1,lane=gray' };
    const ctx = composite(new W3CBaggagePropagator(), new LanePropagator()).extract(ROOT_CONTEXT, inbound, defaultTextMapGetter);
    const lane = new LanePropagator();
    const first = inject(lane, ctx);
    expect(first.baggage).toBe(inject(new W3CBaggagePropagator(), ctx).baggage);
    expect(inject(lane, ctx)).toEqual(first); // the remembered encoding
    // A changed lane is a new baggage object: encoded again, not the remembered header.
    expect(inject(lane, setLane(ctx, 'blue')).baggage?.split(',').sort()).toEqual(['lane=blue', 'tenant=acme', 'user=a%20b;p=1']);
    expect(inject(lane, suppressTracing(ctx))).toEqual({ 'x-mse-tag': 'gray' });
  });

  it('never throws from a failing setter or getter', () => {
    const failing = { set: () => { throw new Error('boom'); }, get: () => { throw new Error('boom'); }, keys: () => [] };
    const propagator = new LanePropagator();
    expect(() => propagator.inject(setLane(ROOT_CONTEXT, 'gray'), {}, failing)).not.toThrow();
    expect(getLane(propagator.extract(ROOT_CONTEXT, {}, failing))).toBeUndefined();
  });
});
