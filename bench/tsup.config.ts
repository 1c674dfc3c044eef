import { defineConfig } from 'tsup';

export default defineConfig({
  // run.ts drives everything; the others are the processes the macro and memory suites start.
  entry: [
    'src/run.ts',
    'src/procs/plain-service.ts',
    'src/procs/plain-entry.ts',
    'src/procs/graylane-service.ts',
    'src/procs/graylane-gateway.ts',
    'src/procs/memory-child.ts',
    'src/procs/otel.ts',
  ],
  format: ['esm'],
  sourcemap: true,
  clean: true,
  target: 'node20',
});
