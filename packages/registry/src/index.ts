/**
 * @graylane/registry: embedded registries that need no server. `createMemoryRegistry` shares
 * instances inside one process; `createFileRegistry` shares them between the processes of one
 * machine through a directory. Both implement `Registry` from @graylane/core.
 *
 * @packageDocumentation
 */
export { createMemoryRegistry } from './memory.js';
export { createFileRegistry } from './file.js';
export type { FileRecord, FileRegistryOptions } from './file.js';
