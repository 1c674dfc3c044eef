import { ErrorCode, GraylaneError, type Instance, type InstancesListener, type Registry } from '@graylane/core';
import { createRouter } from '../src/index.js';
import { instance } from './helpers.js';

/** A registry under the test's control: it lists a service only when the test says so. */
function manualRegistry() {
  const listeners = new Map<string, Set<InstancesListener>>();
  const subscribed: string[] = [];
  const registry: Registry = {
    kind: 'manual',
    register: async () => {},
    deregister: async () => {},
    subscribe(service, listener) {
      subscribed.push(service);
      let set = listeners.get(service);
      if (!set) listeners.set(service, (set = new Set()));
      set.add(listener);
      return () => void set.delete(listener);
    },
    close: async () => {},
  };
  const publish = (service: string, instances: readonly Instance[]) => {
    for (const listener of listeners.get(service) ?? []) listener(instances);
  };
  const listenerCount = (service: string) => listeners.get(service)?.size ?? 0;
  return { registry, publish, subscribed, listenerCount };
}

async function rejection(promise: Promise<unknown>): Promise<GraylaneError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GraylaneError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('createRouter', () => {
  it('selects from lists given with update(), and reports them', () => {
    const router = createRouter(undefined);
    router.update('orders', [instance(1), instance(2, 'gray')]);
    expect(router.select('orders', 'gray').instance.port).toBe(2);
    expect(router.select('orders', undefined).instance.port).toBe(1);
    expect(router.services()).toEqual(['orders']);
    expect(router.instances('orders')).toHaveLength(2);
    expect(router.instances('nobody')).toEqual([]);
    expect(router.watches('orders')).toBe(false);
  });

  it('throws NOT_READY for an unknown service and starts watching it', () => {
    const { registry, publish, subscribed } = manualRegistry();
    const router = createRouter(registry);
    expect(() => router.select('orders', 'gray')).toThrow(expect.objectContaining({ code: ErrorCode.NOT_READY }));
    expect(router.watches('orders')).toBe(true);
    expect(() => router.select('orders', undefined)).toThrow(/no instance list yet for service "orders"/);
    expect(subscribed).toEqual(['orders']);
    publish('orders', [instance(1)]);
    expect(router.select('orders', 'gray').servedLane).toBeUndefined();
  });

  it('says whether a service is listed, without watching it', () => {
    const { registry, publish, subscribed } = manualRegistry();
    const router = createRouter(registry);
    expect(router.listed('orders')).toBe(false);
    expect(subscribed).toEqual([]);
    void router.ready(['orders']);
    expect(router.listed('orders')).toBe(false);
    publish('orders', []);
    expect(router.listed('orders')).toBe(true); // an empty list counts
    router.update('stock', [instance(1)]);
    expect(router.listed('stock')).toBe(true);
    expect(router.listed('nobody')).toBe(false);
  });

  it('follows registry updates, including an empty list', () => {
    const { registry, publish } = manualRegistry();
    const router = createRouter(registry);
    void router.ready(['orders']);
    publish('orders', [instance(1), instance(2, 'gray')]);
    expect(router.select('orders', 'gray').instance.port).toBe(2);
    publish('orders', [instance(1)]);
    expect(router.select('orders', 'gray').instance.port).toBe(1);
    publish('orders', []);
    expect(() => router.select('orders', undefined)).toThrow(expect.objectContaining({ code: ErrorCode.NO_INSTANCE }));
  });

  it('selectAsync waits for the first list', async () => {
    const { registry, publish } = manualRegistry();
    const router = createRouter(registry);
    const pending = router.selectAsync('orders', 'gray');
    setTimeout(() => publish('orders', [instance(7, 'gray')]), 10);
    await expect(pending).resolves.toMatchObject({ servedLane: 'gray', instance: { port: 7 } });
    await expect(router.selectAsync('orders', 'gray')).resolves.toMatchObject({ servedLane: 'gray' });
  });

  it('selectAsync rejects with NOT_READY after readyTimeoutMs, and with routing errors', async () => {
    const { registry, publish } = manualRegistry();
    const router = createRouter(registry, { readyTimeoutMs: 30, strict: ['gray'] });
    const error = await rejection(router.selectAsync('orders', undefined));
    expect(error.code).toBe(ErrorCode.NOT_READY);
    expect(error.details).toEqual({ services: ['orders'], timeoutMs: 30 });
    publish('orders', [instance(1)]);
    expect((await rejection(router.selectAsync('orders', 'gray'))).code).toBe(ErrorCode.STRICT_LANE);
  });

  it('ready() subscribes to every service and names the missing ones', async () => {
    const { registry, publish, subscribed } = manualRegistry();
    const router = createRouter(registry);
    const pending = router.ready(['a', 'b', 'c', 'a'], { timeoutMs: 50 });
    expect(subscribed).toEqual(['a', 'b', 'c']);
    publish('a', []);
    const error = await rejection(pending);
    expect(error.code).toBe(ErrorCode.NOT_READY);
    expect(error.message).toContain('"b", "c"');
    expect(error.details).toMatchObject({ services: ['b', 'c'] });
  });

  it('ready() resolves once every service is listed, and at once when they already are', async () => {
    const { registry, publish } = manualRegistry();
    const router = createRouter(registry);
    const pending = router.ready(['a', 'b']);
    publish('a', [instance(1, undefined, {}, 'a')]);
    publish('b', []);
    await expect(pending).resolves.toBeUndefined();
    await expect(router.ready(['a', 'b'])).resolves.toBeUndefined();
  });

  it('ready() without a registry waits for update()', async () => {
    const router = createRouter(undefined);
    const pending = router.ready(['orders']);
    router.update('orders', []);
    await expect(pending).resolves.toBeUndefined();
    expect(() => createRouter(undefined).select('x', undefined)).toThrow(/router.update/);
  });

  it('hot-swaps the policy and keeps the fields left out', () => {
    const router = createRouter(undefined, { fallback: { x: ['rc'] }, strict: ['s'] });
    router.update('orders', [instance(1), instance(2, 'rc')]);
    expect(router.select('orders', 'x').servedLane).toBe('rc');
    router.setPolicy({ fallback: {} });
    expect(router.select('orders', 'x').servedLane).toBeUndefined();
    expect(() => router.select('orders', 's')).toThrow(expect.objectContaining({ code: ErrorCode.STRICT_LANE }));
    router.setPolicy({ strict: undefined });
    expect(router.select('orders', 's').servedLane).toBeUndefined();
  });

  it('keeps the old policy when the new one is invalid', () => {
    const router = createRouter(undefined, { fallback: { x: ['rc'] } });
    router.update('orders', [instance(1), instance(2, 'rc')]);
    expect(() => router.setPolicy({ fallback: { x: ['not valid'] } })).toThrow(
      expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }),
    );
    expect(router.select('orders', 'x').servedLane).toBe('rc');
  });

  it('rejects invalid options at creation', () => {
    expect(() => createRouter(undefined, { readyTimeoutMs: 0 })).toThrow(expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }));
    expect(() => createRouter(undefined, { balancer: 'fastest' as never })).toThrow(/balancer/);
    expect(() => createRouter(undefined, { strict: ['base'] })).toThrow(/base lane cannot be strict/);
  });

  it('notifies change listeners, isolates their failures, and stops on unsubscribe', () => {
    const router = createRouter(undefined);
    const seen: [string, number][] = [];
    router.onChange(() => {
      throw new Error('listener bug');
    });
    const off = router.onChange((service, list) => seen.push([service, list.length]));
    router.update('a', [instance(1, undefined, {}, 'a')]);
    off();
    router.update('a', []);
    expect(seen).toEqual([['a', 1]]);
  });

  it('close() unsubscribes, rejects pending waits, and keeps serving known lists', async () => {
    const { registry, publish, listenerCount } = manualRegistry();
    const router = createRouter(registry);
    void router.ready(['a']);
    publish('a', [instance(1, undefined, {}, 'a')]);
    const pending = router.ready(['b']);
    router.close();
    expect((await rejection(pending)).code).toBe(ErrorCode.CLOSED);
    expect(listenerCount('a')).toBe(0);
    expect(router.watches('a')).toBe(false);
    expect(router.select('a', undefined).instance.port).toBe(1);
    expect((await rejection(router.selectAsync('c', undefined))).code).toBe(ErrorCode.CLOSED);
    router.close();
  });

  it('survives a registry that throws on subscribe, and retries later', () => {
    let fail = true;
    const registry: Registry = {
      ...manualRegistry().registry,
      subscribe: (_service, listener) => {
        if (fail) throw new Error('connection refused');
        listener([instance(1)]);
        return () => {};
      },
    };
    const router = createRouter(registry);
    const error = (() => {
      try {
        router.select('orders', undefined);
      } catch (e) {
        return e as GraylaneError;
      }
      return undefined;
    })();
    expect(error?.code).toBe(ErrorCode.NOT_READY);
    expect((error?.cause as GraylaneError).code).toBe(ErrorCode.REGISTRY);
    expect(router.watches('orders')).toBe(false);
    fail = false;
    // This registry lists synchronously on subscribe, so the retry already succeeds.
    expect(router.select('orders', undefined).instance.port).toBe(1);
    expect(router.watches('orders')).toBe(true);
  });
});
