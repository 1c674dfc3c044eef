import { ErrorCode, type Instance } from '@graylane/core';
import { createMemoryRegistry } from '../src/index.js';
import { describeRegistryContract } from '@graylane/testing';

describeRegistryContract('memory', async () => {
  const registry = createMemoryRegistry();
  return { registry, cleanup: () => registry.close() };
}, { timeoutMs: 500, settleMs: 20 });

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('createMemoryRegistry', () => {
  it('notifies asynchronously, once per tick, with the full list', async () => {
    const registry = createMemoryRegistry();
    const lists: (readonly Instance[])[] = [];
    registry.subscribe('orders', (list) => lists.push(list));
    await tick();
    void registry.register({ service: 'orders', host: 'h', port: 1 });
    void registry.register({ service: 'orders', host: 'h', port: 2, lane: 'gray' });
    expect(lists).toHaveLength(1); // only the initial empty list so far
    await tick();
    expect(lists.map((l) => l.map((i) => `${i.id}@${i.lane ?? 'base'}`))).toEqual([[], ['h:1@base', 'h:2@gray']]);
    await registry.close();
  });

  it('does not notify when an identical instance registers again', async () => {
    const registry = createMemoryRegistry();
    const lists: (readonly Instance[])[] = [];
    await registry.register({ service: 'orders', host: 'h', port: 1 });
    registry.subscribe('orders', (list) => lists.push(list));
    await tick();
    await registry.register({ service: 'orders', host: 'h', port: 1 });
    await tick();
    expect(lists).toHaveLength(1);
  });

  it('takes the lane from metadata when the registration names none', async () => {
    const registry = createMemoryRegistry();
    const lists: (readonly Instance[])[] = [];
    registry.subscribe('orders', (list) => lists.push(list));
    await registry.register({ service: 'orders', host: 'h', port: 1, metadata: { 'alicloud.service.tag': 'gray' } });
    await tick();
    expect(lists.at(-1)?.[0]?.lane).toBe('gray');
    expect(lists.at(-1)?.[0]?.metadata['graylane.io/lane']).toBe('gray');
  });

  it('isolates listeners from each other', async () => {
    const registry = createMemoryRegistry();
    const seen: number[] = [];
    registry.subscribe('orders', () => {
      throw new Error('listener bug');
    });
    registry.subscribe('orders', (list) => seen.push(list.length));
    await tick();
    expect(seen).toEqual([0]);
  });

  it('rejects invalid registrations and use after close', async () => {
    const registry = createMemoryRegistry();
    await expect(registry.register({ service: '', host: 'h', port: 0 })).rejects.toMatchObject({
      code: ErrorCode.CONFIG_INVALID,
      details: { issues: ['service must be a non-empty string', 'port must be an integer in 1-65535, got 0'] },
    });
    await expect(registry.register({ service: 's', host: 'h', port: 1, lane: 'not a lane' })).rejects.toMatchObject({
      code: ErrorCode.LANE_INVALID,
    });
    await registry.close();
    await expect(registry.register({ service: 's', host: 'h', port: 1 })).rejects.toMatchObject({ code: ErrorCode.CLOSED });
    expect(() => registry.subscribe('s', () => {})).toThrow(expect.objectContaining({ code: ErrorCode.CLOSED }));
  });
});
