/** What needs no broker: stamping publish options, reading AMQP header values, and option validation. */
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import type { Channel } from 'amqplib';
import { ErrorCode, GraylaneError } from '@graylane/core';
import { extractMessageLane, withLane } from '@graylane/context';
import { createMemoryRegistry } from '@graylane/registry';
import { MAX_HEADER_BYTES, amqpHeaders, consumeLanes, laneMessageOptions, publishInLane } from '../src/index.js';

const manager = new AsyncLocalStorageContextManager();
beforeAll(() => context.setGlobalContextManager(manager.enable()));
afterAll(() => {
  manager.disable();
  context.disable();
});

describe('laneMessageOptions / publishInLane', () => {
  it('stamps the current lane and keeps the caller’s headers and options, without modifying them', () => {
    const headers = { 'x-app': 'a', baggage: 'user=1' };
    const options = { persistent: true, headers };
    const stamped = withLane('gray', () => laneMessageOptions(options));
    expect(stamped.persistent).toBe(true);
    expect(stamped.headers).toMatchObject({ 'x-app': 'a', 'x-mse-tag': 'gray' });
    expect(String(stamped.headers.baggage)).toContain('user=1');
    expect(extractMessageLane(stamped.headers)).toBe('gray');
    expect(headers).toEqual({ 'x-app': 'a', baggage: 'user=1' });
    expect(options).not.toHaveProperty('lane');
  });

  it('an explicit lane wins over the current one; an explicit undefined is base and removes the carriers', () => {
    expect(withLane('gray', () => laneMessageOptions({ lane: 'blue' })).headers['x-mse-tag']).toBe('blue');
    const base = withLane('gray', () => laneMessageOptions({ lane: undefined, headers: { 'x-mse-tag': 'old', 'x-app': 'a' } }));
    expect(base.headers).toEqual({ 'x-app': 'a' });
    expect(base).not.toHaveProperty('lane');
    expect(base).not.toHaveProperty('carriers');
  });

  it('publishInLane passes the stamped options to channel.publish and returns its result', () => {
    const calls: unknown[][] = [];
    const channel = { publish: (...args: unknown[]) => (calls.push(args), false) } as unknown as Pick<Channel, 'publish'>;
    const body = Buffer.from('x');
    expect(withLane('gray', () => publishInLane(channel, 'orders', 'k', body, { priority: 3 }))).toBe(false);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.slice(0, 3)).toEqual(['orders', 'k', body]);
    expect(calls[0]![3]).toMatchObject({ priority: 3, headers: { 'x-mse-tag': 'gray' } });
  });
});

describe('amqpHeaders', () => {
  it('keeps strings, UTF-8 Buffers and string array members; drops everything else', () => {
    const read = amqpHeaders({
      'X-MSE-Tag': Buffer.from('gray'),
      baggage: ['lane=gray', 7],
      count: 3,
      flag: true,
      nested: { a: 'b' },
      bad: Buffer.from([0xff, 0xfe, 0x00]),
      big: 'g'.repeat(MAX_HEADER_BYTES + 1),
    });
    expect(read).toEqual({ 'x-mse-tag': 'gray', baggage: ['lane=gray'] });
    expect(extractMessageLane(read)).toBe('gray');
  });

  it('never throws on what is not a table', () => {
    for (const junk of [undefined, null, 'x', 42, [1, 2]]) expect(() => amqpHeaders(junk)).not.toThrow();
    const hostile = new Proxy({}, { ownKeys: () => { throw new Error('no'); } });
    expect(amqpHeaders(hostile)).toEqual({});
  });
});

describe('consumeLanes option validation', () => {
  const channel = new Proxy({}, { get: () => () => { throw new Error('the channel must not be used'); } }) as unknown as Channel;
  const registry = createMemoryRegistry();
  afterAll(() => registry.close());
  const base = { service: 'orders', registry, exchange: 'orders' };
  const rejects = async (options: object, path: string) => {
    const error = await consumeLanes(channel, { ...base, ...options }, () => undefined).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(GraylaneError);
    expect((error as GraylaneError).code).toBe(ErrorCode.CONFIG_INVALID);
    expect((error as GraylaneError).details).toMatchObject({ path });
  };

  it.each([
    [{ exchange: '' }, 'amqp.consumeLanes(orders).exchange'],
    [{ prefetch: -1 }, 'amqp.consumeLanes(orders).prefetch'],
    [{ prefetch: 1.5 }, 'amqp.consumeLanes(orders).prefetch'],
    [{ onHandlerError: 'drop' }, 'amqp.consumeLanes(orders).onHandlerError'],
    [{ bindingKeys: [] }, 'amqp.consumeLanes(orders).bindingKeys'],
    [{ queue: 'amq.mine' }, 'amqp.consumeLanes(orders).queue'],
    [{ queue: () => '' }, 'amqp.consumeLanes(orders).queue'],
    [{ adopt: 'yes' }, 'amqp.consumeLanes(orders).adopt'],
    [{ openChannel: 'amqp://' }, 'amqp.consumeLanes(orders).openChannel'],
    [{ lane: 'not a lane!' }, 'messaging.consumer(orders).lane'],
    [{ service: '' }, 'messaging.consumer().service'],
    [{ fallbackAfterMs: -1 }, 'messaging.consumer(orders).fallbackAfterMs'],
  ])('%j is CONFIG_INVALID at %s', async (options, path) => {
    await rejects(options, path);
  });
});
