import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/launch.ts', 'src/launcher.ts', 'src/service.ts', 'src/gateway.ts'],
  format: ['esm'],
  sourcemap: true,
  clean: true,
  target: 'node20',
});
