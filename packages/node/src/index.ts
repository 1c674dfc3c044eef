export { startGraylane } from './graylane.js';
export type { Graylane, GraylaneOptions } from './graylane.js';
export { RegistryEnv, registryFromEnv } from './registry-from-env.js';
