import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import {
  createCarriers,
  ensureContextManager,
  extractMessageLane,
  getLane,
  injectLaneIntoMessage,
  runInMessageLane,
  withLane,
} from '@graylane/context';
import type { MessageHeaders } from '@graylane/context';

beforeAll(() => ensureContextManager());

describe('message helpers', () => {
  it('inject the current lane by default, and an explicit one on request', () => {
    expect(withLane('gray', () => injectLaneIntoMessage({ id: '1' }))).toEqual({ id: '1', 'x-mse-tag': 'gray', baggage: 'lane=gray' });
    expect(injectLaneIntoMessage({}, 'blue')).toEqual({ 'x-mse-tag': 'blue', baggage: 'lane=blue' });
    expect(injectLaneIntoMessage({ 'x-mse-tag': 'stale' })).toEqual({});
  });

  it('read Kafka-style Buffer headers', () => {
    expect(extractMessageLane({ 'x-mse-tag': Buffer.from('gray') })).toBe('gray');
    expect(extractMessageLane({ baggage: Buffer.from('tenant=a,lane=blue') })).toBe('blue');
    expect(extractMessageLane({ 'x-mse-tag': 42, baggage: { not: 'text' } })).toBeUndefined();
    expect(extractMessageLane(undefined)).toBeUndefined();
  });

  it('run each handler in the lane its message carries, never in the consumer loop’s', async () => {
    const queue: MessageHeaders[] = [];
    for (const lane of ['gray', undefined, 'blue']) withLane(lane, () => queue.push(injectLaneIntoMessage({})));
    const seen = await withLane('feature-x', () =>
      Promise.all(queue.map((headers) => runInMessageLane(headers, async () => (await sleep(1), getLane())))),
    );
    expect(seen).toEqual(['gray', undefined, 'blue']);
  });
});

describe('createCarriers', () => {
  it('binds every helper to one set of carrier options', () => {
    const helpers = createCarriers({ mseTag: 'x-lane', baggage: false });
    const headers: Record<string, unknown> = {};
    helpers.injectLane(headers, 'gray');
    expect(headers).toEqual({ 'x-lane': 'gray' });
    expect(helpers.extractLane({ 'x-lane': 'gray', 'x-mse-tag': 'blue' })).toBe('gray');
    expect(helpers.withLane('gray', () => helpers.injectLaneIntoMessage({}))).toEqual({ 'x-lane': 'gray' });
    expect(helpers.runInMessageLane({ 'x-lane': 'blue' }, () => getLane())).toBe('blue');
    expect(helpers.extractMessageLane({ 'x-lane': Buffer.from('blue') })).toBe('blue');
    expect(getLane(helpers.setLane(ROOT_CONTEXT, 'gray'))).toBe('gray');
    expect(helpers.propagator.fields()).toEqual(['x-lane', 'baggage']);
  });

  it('fails fast on invalid options', () => {
    expect(() => createCarriers({ headers: ['no spaces allowed'] })).toThrow(expect.objectContaining({ code: 'GRAYLANE_ERR_CONFIG_INVALID' }));
  });
});
