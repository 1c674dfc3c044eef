import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // Imported at run time by ensureContextManager but still listed under devDependencies until the
  // manifest and lockfile move it to dependencies: keep it an import, never bundle it.
  external: ['@opentelemetry/context-async-hooks'],
});
