/**
 * The registry contract: the same tests run over every `Registry` implementation (memory, file,
 * Nacos). Test-only; import it from another package's tests by relative path.
 */
import { ErrorCode, WireNames, type Instance, type InstanceRegistration, type Registry } from '@graylane/core';

/** What a contract run needs from an implementation. */
export interface RegistryFixture {
  /** The registry that watches. */
  readonly registry: Registry;
  /** The registry that registers, when it should be another client (another process or connection). */
  readonly registrant?: Registry;
  /** Deregisters leftovers, closes clients, removes temporary state. */
  cleanup(): Promise<void>;
}

/** Options of {@link describeRegistryContract}. */
export interface ContractOptions {
  /** How long a change may take to reach a watcher. Default 3000 ms; raise it for remote registries. */
  readonly timeoutMs?: number;
  /** How long to watch for a notification that must not come. Default 300 ms. */
  readonly settleMs?: number;
}

let serial = 0;

/** A service name no other test, run or concurrent job uses. */
function uniqueService(label: string): string {
  return `contract-${label}-${process.pid}-${Date.now().toString(36)}-${++serial}`;
}

/** Records every list a subscription delivers and waits for one that satisfies a predicate. */
class Recorder {
  readonly lists: (readonly Instance[])[] = [];
  private waiters: { predicate: (list: readonly Instance[]) => boolean; resolve: (list: readonly Instance[]) => void }[] = [];

  readonly listener = (list: readonly Instance[]): void => {
    this.lists.push(list);
    this.waiters = this.waiters.filter((w) => {
      if (!w.predicate(list)) return true;
      w.resolve(list);
      return false;
    });
  };

  get latest(): readonly Instance[] | undefined {
    return this.lists[this.lists.length - 1];
  }

  /** Resolves with the first list, past or future, for which `predicate` holds, checking the latest first. */
  until(predicate: (list: readonly Instance[]) => boolean, timeoutMs: number, what: string): Promise<readonly Instance[]> {
    const latest = this.latest;
    if (latest !== undefined && predicate(latest)) return Promise.resolve(latest);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; lists seen: ${JSON.stringify(this.lists.map((l) => l.map((i) => `${i.id}@${i.lane ?? 'base'}`)))}`));
      }, timeoutMs);
      const done = (list: readonly Instance[]) => {
        clearTimeout(timer);
        resolve(list);
      };
      this.waiters.push({ predicate, resolve: done });
    });
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Defines a jest `describe` block that checks `factory`'s registry against the contract every
 * graylane registry keeps: lists with lanes and metadata, empty lists on the last deregistration,
 * lane changes on re-registration, isolation between services, unsubscription and close.
 */
export function describeRegistryContract(
  name: string,
  factory: () => Promise<RegistryFixture>,
  options: ContractOptions = {},
): void {
  const timeoutMs = options.timeoutMs ?? 3000;
  const settleMs = options.settleMs ?? 300;
  const jestTimeout = timeoutMs * 3 + settleMs * 2 + 5000;

  describe(`Registry contract: ${name}`, () => {
    let fixture: RegistryFixture;
    let registry: Registry;
    let registrant: Registry;
    const unsubscribers: (() => void)[] = [];

    beforeEach(async () => {
      fixture = await factory();
      registry = fixture.registry;
      registrant = fixture.registrant ?? fixture.registry;
    }, jestTimeout);

    afterEach(async () => {
      for (const unsubscribe of unsubscribers.splice(0)) unsubscribe();
      await fixture.cleanup();
    }, jestTimeout);

    function watch(service: string): Recorder {
      const recorder = new Recorder();
      unsubscribers.push(registry.subscribe(service, recorder.listener));
      return recorder;
    }

    const has = (port: number, lane?: string) => (list: readonly Instance[]) =>
      list.some((i) => i.port === port && i.lane === lane);

    it('reports a kind', () => {
      expect(typeof registry.kind).toBe('string');
      expect(registry.kind.length).toBeGreaterThan(0);
    });

    it('delivers the current list soon after subscribing, an empty one included', async () => {
      const service = uniqueService('empty');
      const recorder = watch(service);
      await expect(recorder.until((list) => list.length === 0, timeoutMs, 'the first (empty) list')).resolves.toEqual([]);
    }, jestTimeout);

    it('lists a registered instance with its lane, weight and metadata', async () => {
      const service = uniqueService('register');
      const recorder = watch(service);
      const registration: InstanceRegistration = {
        service,
        host: '127.0.0.1',
        port: 18081,
        lane: 'gray',
        weight: 2,
        metadata: { zone: 'a' },
      };
      await registrant.register(registration);
      const list = await recorder.until(has(18081, 'gray'), timeoutMs, 'the gray instance');
      expect(list).toHaveLength(1);
      const [instance] = list;
      expect(instance).toMatchObject({
        service,
        host: '127.0.0.1',
        port: 18081,
        lane: 'gray',
        weight: 2,
        healthy: true,
        enabled: true,
      });
      expect(typeof instance!.id).toBe('string');
      expect(instance!.metadata).toMatchObject({ zone: 'a', [WireNames.GRAYLANE_METADATA]: 'gray', [WireNames.MSE_SERVICE_TAG]: 'gray' });
      await registrant.deregister(registration);
    }, jestTimeout);

    it('lists a base instance without a lane', async () => {
      const service = uniqueService('base');
      const recorder = watch(service);
      const registration = { service, host: '127.0.0.1', port: 18082 };
      await registrant.register(registration);
      const [instance] = await recorder.until(has(18082, undefined), timeoutMs, 'the base instance');
      expect(instance!.lane).toBeUndefined();
      expect(instance!.weight).toBe(1);
      await registrant.deregister(registration);
    }, jestTimeout);

    // One registration path (#12 item 5): a lane given only in the metadata, under any key other
    // systems write, is announced as that lane by every registry, and under every key the fleet reads.
    it.each([
      [WireNames.MSE_SERVICE_TAG, 'gray'],
      [WireNames.OPENSERGO_METADATA, 'gray'],
      [WireNames.OPENSERGO_LABEL, 'gray'],
      [`${WireNames.OPENSERGO_CANARY_PREFIX}-gray`, 'gray'],
    ])('lists an instance whose lane is only in its metadata (%s) in that lane', async (key, lane) => {
      const service = uniqueService('metadata-lane');
      const recorder = watch(service);
      const registration: InstanceRegistration = { service, host: '127.0.0.1', port: 18090, metadata: { [key]: lane, zone: 'a' } };
      await registrant.register(registration);
      const [instance] = await recorder.until((list) => list.some((i) => i.port === 18090), timeoutMs, 'the instance');
      expect(instance!.lane).toBe(lane);
      expect(instance!.metadata).toMatchObject({ zone: 'a', [WireNames.GRAYLANE_METADATA]: lane, [WireNames.MSE_SERVICE_TAG]: lane });
      await registrant.deregister(registration);
    }, jestTimeout);

    it('takes `lane` over a lane in the metadata', async () => {
      const service = uniqueService('lane-wins');
      const recorder = watch(service);
      const registration: InstanceRegistration = { service, host: '127.0.0.1', port: 18091, lane: 'blue', metadata: { [WireNames.MSE_SERVICE_TAG]: 'gray' } };
      await registrant.register(registration);
      const [instance] = await recorder.until((list) => list.some((i) => i.port === 18091), timeoutMs, 'the instance');
      expect(instance!.lane).toBe('blue');
      expect(instance!.metadata[WireNames.MSE_SERVICE_TAG]).toBe('blue');
      await registrant.deregister(registration);
    }, jestTimeout);

    // The same bad input gets the same error code from every registry, and nothing is announced.
    it.each([
      ['an empty service', { service: '', host: '127.0.0.1', port: 18092 }, ErrorCode.CONFIG_INVALID],
      ['an empty host', { host: '', port: 18092 }, ErrorCode.CONFIG_INVALID],
      ['port 0', { host: '127.0.0.1', port: 0 }, ErrorCode.CONFIG_INVALID],
      ['port 70000', { host: '127.0.0.1', port: 70000 }, ErrorCode.CONFIG_INVALID],
      ['a negative weight', { host: '127.0.0.1', port: 18092, weight: -1 }, ErrorCode.CONFIG_INVALID],
      ['a non-string metadata value', { host: '127.0.0.1', port: 18092, metadata: { zone: 1 as unknown as string } }, ErrorCode.CONFIG_INVALID],
      ['an invalid lane', { host: '127.0.0.1', port: 18092, lane: '-gray-' }, ErrorCode.LANE_INVALID],
      ['an invalid lane in the metadata', { host: '127.0.0.1', port: 18092, metadata: { [WireNames.MSE_SERVICE_TAG]: 'gr ay' } }, ErrorCode.LANE_INVALID],
    ] as const)('rejects a registration with %s', async (_what, fields, code) => {
      const service = uniqueService('invalid');
      const recorder = watch(service);
      await recorder.until((list) => list.length === 0, timeoutMs, 'the first (empty) list');
      await expect(registrant.register({ service, ...fields } as InstanceRegistration)).rejects.toMatchObject({ code });
      await new Promise((resolve) => setTimeout(resolve, settleMs));
      expect(recorder.latest).toEqual([]);
    }, jestTimeout);

    it('delivers an empty list when the last instance deregisters', async () => {
      const service = uniqueService('deregister');
      const recorder = watch(service);
      const registration = { service, host: '127.0.0.1', port: 18083, lane: 'gray' };
      await registrant.register(registration);
      await recorder.until(has(18083, 'gray'), timeoutMs, 'the instance');
      await registrant.deregister(registration);
      await expect(recorder.until((list) => list.length === 0, timeoutMs, 'the empty list')).resolves.toEqual([]);
    }, jestTimeout);

    it('treats deregistering an unknown instance as a no-op', async () => {
      const service = uniqueService('unknown');
      await expect(registrant.deregister({ service, host: '127.0.0.1', port: 18084 })).resolves.toBeUndefined();
    }, jestTimeout);

    it('changes the lane when the instance registers again with another one', async () => {
      const service = uniqueService('relane');
      const recorder = watch(service);
      const base = { service, host: '127.0.0.1', port: 18085 };
      await registrant.register({ ...base, lane: 'gray' });
      await recorder.until(has(18085, 'gray'), timeoutMs, 'the gray instance');
      await registrant.register({ ...base, lane: 'rc' });
      const list = await recorder.until(has(18085, 'rc'), timeoutMs, 'the instance in lane rc');
      expect(list).toHaveLength(1);
      await registrant.register(base);
      const back = await recorder.until(has(18085, undefined), timeoutMs, 'the instance back in base');
      expect(back).toHaveLength(1);
      await registrant.deregister(base);
    }, jestTimeout);

    it('keeps services apart', async () => {
      const a = uniqueService('a');
      const b = uniqueService('b');
      const inA = watch(a);
      const inB = watch(b);
      await inB.until((list) => list.length === 0, timeoutMs, 'the first list of b');
      const registration = { service: a, host: '127.0.0.1', port: 18086 };
      await registrant.register(registration);
      await inA.until(has(18086), timeoutMs, 'the instance in a');
      await sleep(settleMs);
      expect(inB.lists.every((list) => list.length === 0)).toBe(true);
      await registrant.deregister(registration);
    }, jestTimeout);

    it('lists several instances of one service', async () => {
      const service = uniqueService('many');
      const recorder = watch(service);
      const registrations = [18087, 18088, 18089].map((port, i) => ({ service, host: '127.0.0.1', port, lane: i === 0 ? 'gray' : undefined }));
      for (const r of registrations) await registrant.register(r);
      const list = await recorder.until((l) => l.length === 3, timeoutMs, 'three instances');
      expect(list.filter((i) => i.lane === 'gray').map((i) => i.port)).toEqual([18087]);
      for (const r of registrations) await registrant.deregister(r);
      await recorder.until((l) => l.length === 0, timeoutMs, 'the empty list');
    }, jestTimeout);

    it('stops notifying after unsubscribe', async () => {
      const service = uniqueService('unsubscribe');
      const recorder = new Recorder();
      const unsubscribe = registry.subscribe(service, recorder.listener);
      await recorder.until((list) => list.length === 0, timeoutMs, 'the first list');
      unsubscribe();
      const seen = recorder.lists.length;
      const registration = { service, host: '127.0.0.1', port: 18090 };
      await registrant.register(registration);
      await sleep(settleMs);
      expect(recorder.lists.length).toBe(seen);
      unsubscribe(); // twice is harmless
      await registrant.deregister(registration);
    }, jestTimeout);

    it('keeps other subscriptions of the same service when one unsubscribes', async () => {
      const service = uniqueService('two');
      const first = new Recorder();
      const unsubscribeFirst = registry.subscribe(service, first.listener);
      const second = watch(service);
      await second.until((list) => list.length === 0, timeoutMs, 'the first list');
      unsubscribeFirst();
      const registration = { service, host: '127.0.0.1', port: 18091 };
      await registrant.register(registration);
      await second.until(has(18091), timeoutMs, 'the instance');
      await registrant.deregister(registration);
    }, jestTimeout);

    it('closes without error, twice', async () => {
      const service = uniqueService('close');
      const recorder = watch(service);
      await recorder.until((list) => list.length === 0, timeoutMs, 'the first list');
      await registry.close();
      await registry.close();
      const seen = recorder.lists.length;
      if (registrant !== registry) {
        await registrant.register({ service, host: '127.0.0.1', port: 18092 });
        await sleep(settleMs);
        expect(recorder.lists.length).toBe(seen);
        await registrant.deregister({ service, host: '127.0.0.1', port: 18092 });
      }
    }, jestTimeout);
  });
}
