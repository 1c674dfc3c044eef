/**
 * @graylane/registry: embedded registries that need no server. `createMemoryRegistry` shares
 * instances inside one process; `createFileRegistry` shares them between the processes of one
 * machine through a directory (by default one per user, see `defaultFileRegistryDir`). Both implement `Registry` from @graylane/core.
 *
 * @packageDocumentation
 */
export { createMemoryRegistry } from './memory.js';
export { REGISTRY_DIR_ENV, createFileRegistry, defaultFileRegistryDir } from './file.js';
export type { FileRegistry, FileRegistryOptions } from './file.js';
export type { FileRecord } from './file/record.js';
