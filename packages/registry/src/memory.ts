import type { Instance, InstanceRegistration, InstancesListener, Registry } from '@graylane/core';
import { byId, closedError, deliver, fingerprint, instanceOf } from './instance.js';

/**
 * An in-process registry: several routers and servers in one process (tests, the demo, a
 * monolith split in modules) share it. Listeners are called asynchronously (in a microtask) with
 * the service's full, current list, an empty one included; changes made in one tick are delivered
 * once. Re-registering an identical instance notifies nobody.
 */
export function createMemoryRegistry(): Registry {
  const services = new Map<string, Map<string, Instance>>();
  const watchers = new Map<string, Set<InstancesListener>>();
  const pending = new Set<string>();
  let closed = false;

  const listOf = (service: string): readonly Instance[] =>
    Object.freeze([...(services.get(service)?.values() ?? [])].sort(byId));

  function notify(service: string): void {
    if (pending.has(service) || !watchers.get(service)?.size) return;
    pending.add(service);
    queueMicrotask(() => {
      pending.delete(service);
      const listeners = watchers.get(service);
      if (closed || listeners === undefined) return;
      const list = listOf(service);
      for (const listener of [...listeners]) if (listeners.has(listener)) deliver(listener, list);
    });
  }

  return {
    kind: 'memory',

    async register(registration: InstanceRegistration) {
      if (closed) throw closedError('memory');
      const instance = instanceOf(registration);
      let instances = services.get(instance.service);
      if (instances === undefined) services.set(instance.service, (instances = new Map()));
      const previous = instances.get(instance.id);
      if (previous !== undefined && fingerprint([previous]) === fingerprint([instance])) return;
      instances.set(instance.id, instance);
      notify(instance.service);
    },

    async deregister(registration: InstanceRegistration) {
      if (closed) throw closedError('memory');
      const id = `${registration.host}:${registration.port}`;
      if (services.get(registration.service)?.delete(id)) notify(registration.service);
    },

    subscribe(service: string, listener: InstancesListener) {
      if (closed) throw closedError('memory');
      let listeners = watchers.get(service);
      if (listeners === undefined) watchers.set(service, (listeners = new Set()));
      const own: InstancesListener = (list) => listener(list);
      listeners.add(own);
      queueMicrotask(() => {
        if (!closed && listeners.has(own)) deliver(own, listOf(service));
      });
      return () => {
        listeners.delete(own);
        if (listeners.size === 0 && watchers.get(service) === listeners) watchers.delete(service);
      };
    },

    async close() {
      closed = true;
      watchers.clear();
    },
  };
}
