import { ErrorCode, GraylaneError } from '@graylane/core';
import type { NacosClientOptions, NacosConfig } from '@graylane/nacos';
import { loadNacos } from '../lazy.js';
import type { RuleSource } from './source.js';

/** The group Nacos uses when none is given (`DEFAULT_GROUP` of @graylane/nacos). */
const DEFAULT_GROUP = 'DEFAULT_GROUP';

/** Which Nacos config holds the rules. */
export interface NacosRuleConfig {
  /** The config's data id, e.g. `graylane-rules.yaml`. */
  readonly dataId: string;
  /** The config's group. Default `DEFAULT_GROUP`. */
  readonly group?: string | undefined;
}

/**
 * Options of {@link nacosRuleSource}: the config, and either a config client to share (the source
 * does not close it) or the options of a client the source creates and closes.
 */
export type NacosRuleSourceOptions = NacosRuleConfig & ({ readonly config: NacosConfig } | NacosClientOptions);

/**
 * Rules in a Nacos config, read and watched over Nacos 2.x gRPC: a change is pushed by the server
 * and applied in about a second. A config that does not exist (or is deleted) reads as no rules.
 *
 * @example
 * ```ts
 * const source = nacosRuleSource({ serverAddr: '127.0.0.1:8848', dataId: 'graylane-rules.yaml' });
 * ```
 *
 * The source's own client is made on first use, when `@graylane/nacos` (gRPC, protobufjs) is loaded;
 * invalid client options reject `opened()` and `load()` with `GRAYLANE_ERR_CONFIG_INVALID` (the
 * rules manager's `ready()` rejects with it at once).
 *
 * @throws GraylaneError `GRAYLANE_ERR_CONFIG_INVALID` for an empty `dataId`.
 */
export function nacosRuleSource(options: NacosRuleSourceOptions): RuleSource {
  const { dataId } = options;
  if (typeof dataId !== 'string' || dataId.trim() === '') {
    throw new GraylaneError(ErrorCode.CONFIG_INVALID, 'nacosRuleSource: `dataId` must be a non-empty string', { details: { path: 'dataId' } });
  }
  const group = options.group || DEFAULT_GROUP;
  if ('config' in options) {
    const { config } = options;
    return {
      kind: 'nacos',
      location: `${group}/${dataId}`,
      load: () => config.get(dataId, group),
      watch: (listener) => config.watch(dataId, group, listener),
      close: undefined,
    };
  }
  // Its own client: made on first use, when @graylane/nacos (gRPC, protobufjs) is loaded.
  let client: Promise<NacosConfig> | undefined;
  let closed = false;
  const config = () => (client ??= loadNacos().then((nacos) => nacos.createNacosConfig(options)));
  return {
    kind: 'nacos',
    location: `${group}/${dataId}`,
    load: async () => (await config()).get(dataId, group),
    opened: async () => void (await config()),
    watch(listener) {
      let unwatch: (() => void) | undefined;
      let cancelled = false;
      config().then(
        (made) => {
          if (!cancelled && !closed) unwatch = made.watch(dataId, group, listener);
        },
        () => undefined, // the client could not be made: load() reports it
      );
      return () => {
        cancelled = true;
        unwatch?.();
      };
    },
    async close() {
      closed = true;
      if (client) await (await client.catch(() => undefined))?.close();
    },
  };
}
