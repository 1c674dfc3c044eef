import { ErrorCode, GraylaneError } from '@graylane/core';
import { DEFAULT_GROUP, createNacosConfig } from '@graylane/nacos';
import type { NacosClientOptions, NacosConfig } from '@graylane/nacos';
import type { RuleSource } from './source.js';

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
 * @throws GraylaneError `GRAYLANE_ERR_CONFIG_INVALID` for an empty `dataId` or invalid client options.
 */
export function nacosRuleSource(options: NacosRuleSourceOptions): RuleSource {
  const { dataId } = options;
  if (typeof dataId !== 'string' || dataId.trim() === '') {
    throw new GraylaneError(ErrorCode.CONFIG_INVALID, 'nacosRuleSource: `dataId` must be a non-empty string', { details: { path: 'dataId' } });
  }
  const group = options.group || DEFAULT_GROUP;
  const shared = 'config' in options;
  const config = shared ? options.config : createNacosConfig(options);
  return {
    kind: 'nacos',
    location: `${group}/${dataId}`,
    load: () => config.get(dataId, group),
    watch: (listener) => config.watch(dataId, group, listener),
    close: shared ? undefined : () => config.close(),
  };
}
