import { defineConfig } from 'tsup';
import type { Options } from 'tsup';

/**
 * The build of every published library in packages/: `src/index.ts` as ES modules and CommonJS,
 * with their type declarations and source maps, for Node 20. A package's tsup.config.ts is
 * `export default library()`, with `overrides` for what it needs more (a shim, a second entry).
 */
export function library(overrides: Options = {}): ReturnType<typeof defineConfig> {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    ...overrides,
  });
}
