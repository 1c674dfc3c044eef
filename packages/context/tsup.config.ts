import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // A runtime dependency still listed under devDependencies (see the package README); never bundle it.
  external: ['@opentelemetry/context-async-hooks'],
});
