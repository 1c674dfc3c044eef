// Compiled with exactOptionalPropertyTypes against the built declarations (test/types.test.ts):
// every optional option of @graylane/node accepts an explicit `undefined`, as a config object built
// from optional fields passes it.
import type { Server } from 'node:http';
import type {
  FileRuleSourceOptions,
  GraylaneOptions,
  GraylaneRulesOptions,
  NacosRuleConfig,
  RegisterAddress,
  RulesManagerOptions,
} from '@graylane/node';

declare const maybe: <T>() => T | undefined;
declare const server: Server;

export const options: GraylaneOptions = {
  service: 'payments',
  lane: maybe<string>(),
  registry: undefined,
  dependencies: maybe<string[]>(),
  routing: undefined,
  rules: undefined,
  carriers: undefined,
  drainMs: maybe<number>(),
  logger: undefined,
  startupLog: maybe<boolean>(),
};

export const manager: RulesManagerOptions = { entry: undefined, attributes: undefined, loadTimeoutMs: undefined, onMissing: undefined };
export const rules: GraylaneRulesOptions = { source: 'env', onMissing: maybe<'fail' | 'base'>() };
export const file: FileRuleSourceOptions = { pollIntervalMs: undefined, debounceMs: undefined };
export const nacos: NacosRuleConfig = { dataId: 'rules.yaml', group: maybe<string>() };
export const addresses: RegisterAddress[] = [
  { server, host: maybe<string>() },
  { host: undefined, port: 8080 },
];
