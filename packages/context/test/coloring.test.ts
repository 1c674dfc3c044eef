import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, trace } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ATTR_GRAYLANE_LANE, ATTR_GRAYLANE_LANE_COLORED, TRAIL_HEADER, createInboundLane, ensureContextManager, getLane } from '@graylane/context';
import type { InboundLaneOptions } from '@graylane/context';
import { ErrorCode, GraylaneError } from '@graylane/core';

const tracer = new BasicTracerProvider().getTracer('graylane-test');

interface Seen {
  lane: string | undefined;
  trail: string | undefined;
  attributes: ReadableSpan['attributes'];
}

/**
 * Serves one request on a real loopback server whose handler runs in the inbound context under a
 * server span, and reports the lane the handler saw, the trail header and the span's attributes.
 */
async function seen(options: InboundLaneOptions, headers: http.OutgoingHttpHeaders = {}): Promise<Seen> {
  const inbound = createInboundLane(options);
  let lane: string | undefined;
  let attributes: ReadableSpan['attributes'] = {};
  const server = http.createServer((req, res) => {
    const span = tracer.startSpan('server');
    context.with(trace.setSpan(context.active(), span), () => {
      context.with(inbound(req, res), () => {
        lane = getLane();
        res.end('ok');
      });
    });
    span.end();
    attributes = (span as unknown as ReadableSpan).attributes;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, headers, agent: false }, (r) => resolve(r.resume())).on('error', reject);
    });
    const trail = res.headers[TRAIL_HEADER];
    return { lane, trail: typeof trail === 'string' ? trail.replace(/@\S+/g, '') : undefined, attributes };
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('coloring at gray nodes', () => {
  beforeAll(() => ensureContextManager());

  it('colors an unmarked request at a gray instance (on by default), in the trail and on the span', async () => {
    const result = await seen({ trail: { service: 'a', lane: 'gray' } });
    expect(result.lane).toBe('gray');
    expect(result.trail).toBe('a[gray*]');
    expect(result.attributes[ATTR_GRAYLANE_LANE]).toBe('gray');
    expect(result.attributes[ATTR_GRAYLANE_LANE_COLORED]).toBe(true);
  });

  it('takes the lane from the lane option without a trail', async () => {
    const result = await seen({ lane: 'gray' });
    expect(result.lane).toBe('gray');
    expect(result.attributes[ATTR_GRAYLANE_LANE_COLORED]).toBe(true);
  });

  it('keeps the lane a request carries: no coloring', async () => {
    const result = await seen({ trail: { service: 'a', lane: 'gray' } }, { ['x-mse-tag']: 'blue' });
    expect(result.lane).toBe('blue');
    expect(result.trail).toBe('a[gray]');
    expect(result.attributes[ATTR_GRAYLANE_LANE_COLORED]).toBeUndefined();
  });

  it('never colors at a base instance', async () => {
    for (const lane of [undefined, 'base']) {
      const result = await seen({ trail: { service: 'a', lane } });
      expect(result.lane).toBeUndefined();
      expect(result.trail).toBe('a[base]');
      expect(result.attributes[ATTR_GRAYLANE_LANE]).toBe('base');
      expect(result.attributes[ATTR_GRAYLANE_LANE_COLORED]).toBeUndefined();
    }
  });

  it('is off with coloring: false, and per lane with a record', async () => {
    expect((await seen({ trail: { service: 'a', lane: 'gray' }, coloring: false })).lane).toBeUndefined();
    expect((await seen({ trail: { service: 'a', lane: 'gray' }, coloring: { gray: false } })).lane).toBeUndefined();
    expect((await seen({ trail: { service: 'a', lane: 'gray' }, coloring: { canary: false } })).lane).toBe('gray');
    expect((await seen({ trail: { service: 'a', lane: 'gray' }, coloring: { gray: true } })).lane).toBe('gray');
  });

  it('at an entry that trusts no client, colors after the carried lane was stripped', async () => {
    const result = await seen({ trust: 'none', trail: { service: 'a', lane: 'gray' } }, { ['x-mse-tag']: 'blue' });
    expect(result.lane).toBe('gray');
    expect(result.trail).toBe('a[gray*]');
  });

  it("at an entry, a lane the entry's rules decide is kept, not colored", async () => {
    const result = await seen({ trust: 'none', rules: () => 'blue', trail: { service: 'a', lane: 'gray' } });
    expect(result.lane).toBe('blue');
    expect(result.trail).toBe('a[gray]');
  });

  it('asks a coloring function per unmarked request: a lane that stops being active stops coloring', async () => {
    let active = true;
    let asked = 0;
    const coloring = () => {
      asked++;
      return active ? 'gray' : undefined;
    };
    const first = await seen({ trail: { service: 'a', lane: 'gray' }, coloring });
    expect([first.lane, first.trail, first.attributes[ATTR_GRAYLANE_LANE_COLORED]]).toEqual(['gray', 'a[gray*]', true]);
    active = false;
    const second = await seen({ trail: { service: 'a', lane: 'gray' }, coloring });
    expect([second.lane, second.trail, second.attributes[ATTR_GRAYLANE_LANE]]).toEqual([undefined, 'a[gray]', 'base']);
    expect(second.attributes[ATTR_GRAYLANE_LANE_COLORED]).toBeUndefined();
    // A marked request never asks.
    await seen({ coloring }, { ['x-mse-tag']: 'blue' });
    expect(asked).toBe(2);
  });

  it("treats a coloring function's base or invalid answer as no coloring", async () => {
    for (const answer of ['base', '', 'not a lane!']) {
      const result = await seen({ trail: { service: 'a', lane: 'gray' }, coloring: () => answer });
      expect([answer, result.lane, result.attributes[ATTR_GRAYLANE_LANE_COLORED]]).toEqual([answer, undefined, undefined]);
    }
  });

  it('rejects an invalid lane at start-up, naming the option', () => {
    let thrown: unknown;
    try {
      createInboundLane({ lane: 'not a lane!' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(GraylaneError);
    expect((thrown as GraylaneError).code).toBe(ErrorCode.LANE_INVALID);
    expect((thrown as GraylaneError).message).toMatch(/`lane`/);
    // Not checked when coloring is off.
    expect(() => createInboundLane({ lane: 'not a lane!', coloring: false })).not.toThrow();
  });
});
