import { library } from '../../tsup.library';

export default library({
  // The lazily loaded packages (src/lazy.ts) come through `import()`; in the CommonJS build it
  // becomes a deferred require, so a CommonJS service loads their CommonJS build (one copy each).
  esbuildOptions(options, context) {
    if (context.format === 'cjs') options.supported = { ...options.supported, 'dynamic-import': false };
  },
});
