import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    // Both builds write to dist and run at once: cleaning must spare the other build's output.
    clean: ['!cli.js', '!cli.js.map'],
    target: 'node20',
  },
  {
    // The `graylane` bin: one self-contained ESM file (dependencies stay external).
    entry: ['src/cli.ts'],
    format: ['esm'],
    banner: { js: '#!/usr/bin/env node' },
    sourcemap: true,
    clean: false,
    target: 'node20',
  },
]);
