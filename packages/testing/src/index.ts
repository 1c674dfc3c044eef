/**
 * `@graylane/testing`: graylane's own test kit, a private workspace that is never packed or
 * published. The contract suites every implementation of one interface runs unchanged (propagation
 * over every inbound + outbound pair, retries and the trail over every outbound adapter, the
 * registry contract over every registry), and the loopback helpers the suites share. Workspaces take
 * it as a devDependency only (`scripts/check-deps.mjs`).
 */
export { describePropagationContract, getJson, listen, sendJson } from './propagation-contract.js';
export type { ContractHandler, ContractOptions, ContractRequest, ContractServer, PropagationAdapter } from './propagation-contract.js';
export { codesOf, describeRetryContract, graylaneErrorIn } from './retry-contract.js';
export type { RetryAdapter, RetryClient } from './retry-contract.js';
export { describeTrailContract } from './trail-contract.js';
export type { TrailClient } from './trail-contract.js';
export { describeRegistryContract } from './registry-contract.js';
export type { ContractOptions as RegistryContractOptions, RegistryFixture } from './registry-contract.js';
export { asService, closeAll, deadPort, instance } from './loopback.js';
export { echoServers } from './echo.js';
export type { Seen } from './echo.js';
export { createFakeClock } from './clock.js';
export type { FakeClock } from './clock.js';
export { describeLaneAdoptionContract, describeMessagingContract, laggingRegistry } from './messaging-contract.js';
export type {
  AdoptionContractConsumer,
  ContractConsumeOptions,
  ContractConsumer,
  LaneAdoptionAdapter,
  LaneAdoptionContractOptions,
  MessagingAdapter,
  MessagingContractOptions,
} from './messaging-contract.js';
