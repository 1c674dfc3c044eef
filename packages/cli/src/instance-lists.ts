import { ErrorCode, GraylaneError } from '@graylane/core';
import type { Instance, Registry } from '@graylane/core';

/** A service's list changed: what it was (empty for a service heard of for the first time) and what it is. */
export type ListChange = (before: readonly Instance[], after: readonly Instance[]) => void;

/** Subscriptions to services of one registry, keeping each service's latest instance list. */
export class InstanceLists {
  readonly #registry: Registry;
  readonly #services = new Set<string>();
  readonly #lists = new Map<string, readonly Instance[]>();
  readonly #unsubscribe: (() => void)[] = [];
  /** Told about every delivery; set while {@link ready} waits, then to its `onChange`. */
  #listener: ListChange | undefined;

  constructor(registry: Registry) {
    this.#registry = registry;
  }

  /** Subscribes to `service` unless it is subscribed already. */
  add(service: string): void {
    if (this.#services.has(service)) return;
    this.#services.add(service);
    this.#unsubscribe.push(
      this.#registry.subscribe(service, (instances) => {
        const before = this.#lists.get(service) ?? [];
        this.#lists.set(service, instances);
        this.#listener?.(before, instances);
      }),
    );
  }

  /**
   * Resolves with every instance once each subscribed service has delivered its list, and from
   * then on reports changes to `onChange`.
   *
   * @throws GraylaneError `GRAYLANE_ERR_NOT_READY` naming the services still silent after `timeoutMs`.
   */
  async ready(timeoutMs: number, onChange?: ListChange): Promise<Instance[]> {
    const silent = () => [...this.#services].filter((service) => !this.#lists.has(service));
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        const check = () => {
          if (silent().length === 0) resolve();
        };
        this.#listener = check;
        check();
        timer = setTimeout(() => {
          const services = silent();
          const message = `the ${this.#registry.kind} registry sent no instance list within ${timeoutMs} ms for ${services.join(', ')}`;
          reject(new GraylaneError(ErrorCode.NOT_READY, message, { details: { services } }));
        }, timeoutMs);
      });
    } finally {
      clearTimeout(timer);
    }
    this.#listener = onChange;
    return [...this.#lists.values()].flat();
  }

  /** Ends every subscription. */
  close(): void {
    this.#listener = undefined;
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
  }
}
