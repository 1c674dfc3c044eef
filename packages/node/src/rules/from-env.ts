import { ErrorCode, GraylaneError } from '@graylane/core';
import { RegistryEnv, nacosOptionsFromEnv } from '../registry-from-env.js';
import { fileRuleSource } from './file-source.js';
import { nacosRuleSource } from './nacos-source.js';
import type { RuleSource } from './source.js';

/** Environment variables that choose the rule source; see docs/reference/configuration.md. */
export const RulesEnv = {
  /** Path of a rules file (YAML or JSON). */
  GRAYLANE_RULES_FILE: 'GRAYLANE_RULES_FILE',
  /** Data id of the Nacos config holding the rules; the server is `NACOS_SERVER_ADDR`. */
  GRAYLANE_RULES_DATA_ID: 'GRAYLANE_RULES_DATA_ID',
  /** Group of that config. Default `DEFAULT_GROUP` (not `NACOS_GROUP`, which groups services). */
  GRAYLANE_RULES_GROUP: 'GRAYLANE_RULES_GROUP',
} as const;

/**
 * The rule source the environment asks for: {@link fileRuleSource} of `GRAYLANE_RULES_FILE`, or
 * {@link nacosRuleSource} of `GRAYLANE_RULES_DATA_ID` in `GRAYLANE_RULES_GROUP` on the Nacos of
 * `NACOS_SERVER_ADDR` (with `NACOS_NAMESPACE`, `NACOS_USERNAME`, `NACOS_PASSWORD`); `undefined`
 * when neither variable is set.
 *
 * @throws GraylaneError `GRAYLANE_ERR_CONFIG_INVALID` when both are set, or a data id without a Nacos server.
 */
export function rulesFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): RuleSource | undefined {
  const file = env[RulesEnv.GRAYLANE_RULES_FILE]?.trim();
  const dataId = env[RulesEnv.GRAYLANE_RULES_DATA_ID]?.trim();
  if (file && dataId) {
    throw invalid(`set ${RulesEnv.GRAYLANE_RULES_FILE} or ${RulesEnv.GRAYLANE_RULES_DATA_ID}, not both`, [
      RulesEnv.GRAYLANE_RULES_FILE,
      RulesEnv.GRAYLANE_RULES_DATA_ID,
    ]);
  }
  if (file) return fileRuleSource(file);
  if (!dataId) return undefined;
  const nacos = nacosOptionsFromEnv(env);
  if (!nacos) {
    throw invalid(`${RulesEnv.GRAYLANE_RULES_DATA_ID} names a Nacos config, but ${RegistryEnv.NACOS_SERVER_ADDR} is not set`, [
      RulesEnv.GRAYLANE_RULES_DATA_ID,
      RegistryEnv.NACOS_SERVER_ADDR,
    ]);
  }
  // `group` replaces the client's NACOS_GROUP, which groups services, not configs.
  const group = env[RulesEnv.GRAYLANE_RULES_GROUP]?.trim() || undefined;
  return nacosRuleSource({ ...nacos, dataId, group });
}

function invalid(message: string, variables: readonly string[]): GraylaneError {
  return new GraylaneError(ErrorCode.CONFIG_INVALID, message, { details: { variables } });
}
