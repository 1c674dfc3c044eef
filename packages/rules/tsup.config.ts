import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // src/worker.ts resolves this package's CommonJS build through import.meta.url, which the CommonJS build needs shimmed.
  shims: true,
});
