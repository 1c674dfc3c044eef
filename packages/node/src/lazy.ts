/**
 * What the bootstrap loads only when it is used (dynamic `import()` at the point of use): the rule
 * model and matcher (`@graylane/rules`, `@graylane/matcher`: YAML and zod) when rules or a lane
 * store are followed, and the Nacos client (`@graylane/nacos`: gRPC and protobufjs) when Nacos is
 * the registry or a rule source. A service on the file registry without rules loads none of them.
 */
import { ErrorCode, GraylaneError } from '@graylane/core';
import type { Registry } from '@graylane/core';
import type * as Matcher from '@graylane/matcher';
import type * as Nacos from '@graylane/nacos';
import type * as Rules from '@graylane/rules';

/** The rule model and the matcher, loaded together. */
export interface RuleModules {
  readonly rules: typeof Rules;
  readonly matcher: typeof Matcher;
}

let ruleModules: RuleModules | undefined;
let loadingRules: Promise<RuleModules> | undefined;

/** Loads `@graylane/rules` and `@graylane/matcher` once; later calls share the first load. */
export function loadRuleModules(): Promise<RuleModules> {
  loadingRules ??= Promise.all([import('@graylane/rules'), import('@graylane/matcher')]).then(([rules, matcher]) => (ruleModules = { rules, matcher }));
  return loadingRules;
}

/** The rule modules when {@link loadRuleModules} has resolved, else `undefined`. */
export function loadedRuleModules(): RuleModules | undefined {
  return ruleModules;
}

let loadingNacos: Promise<typeof Nacos> | undefined;

/** Loads `@graylane/nacos` (and with it gRPC and protobufjs) once. */
export function loadNacos(): Promise<typeof Nacos> {
  loadingNacos ??= import('@graylane/nacos');
  return loadingNacos;
}

const LOADED = Symbol.for('graylane.node.lazyRegistry.loaded');

/** A registry created on first use; {@link registryLoaded} makes it load now. */
interface LazyRegistry extends Registry {
  readonly [LOADED]: () => Promise<Registry>;
}

/**
 * A {@link Registry} of `kind` made by `create` on first use (a register, a subscription, or
 * {@link registryLoaded}). An error of `create` (an invalid option) rejects each call that needs the
 * registry; subscriptions taken before it exists are made once it does, unless unsubscribed first.
 */
export function lazyRegistry(kind: string, create: () => Promise<Registry>): Registry {
  let made: Promise<Registry> | undefined;
  let closed = false;
  const get = () => {
    if (closed && !made) return Promise.reject(new GraylaneError(ErrorCode.CLOSED, `the ${kind} registry is closed`));
    return (made ??= create());
  };
  const registry: LazyRegistry = {
    kind,
    register: async (registration) => (await get()).register(registration),
    deregister: async (registration) => (await get()).deregister(registration),
    subscribe(service, listener) {
      let unsubscribe: (() => void) | undefined;
      let cancelled = false;
      get().then(
        (inner) => {
          if (!cancelled && !closed) unsubscribe = inner.subscribe(service, listener);
        },
        () => undefined, // the registry could not be made: registryLoaded and register report it
      );
      return () => {
        cancelled = true;
        unsubscribe?.();
      };
    },
    async close() {
      closed = true;
      if (made) await (await made.catch(() => undefined))?.close();
    },
    [LOADED]: get,
  };
  return registry;
}

/** Waits until `registry` exists when it is a {@link lazyRegistry} (rejecting with its creation error). */
export async function registryLoaded(registry: Registry): Promise<void> {
  const load = (registry as Partial<LazyRegistry>)[LOADED];
  if (load) await load();
}
