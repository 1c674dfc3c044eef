import { constants } from 'node:os';
import { runCli } from './run.js';

// The first Ctrl-C (or SIGTERM) ends a watching command cleanly; a second one ends the process.
const controller = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    controller.abort();
    process.once(signal, () => process.exit(128 + constants.signals[signal]));
  });
}

process.exitCode = await runCli(process.argv.slice(2), { signal: controller.signal });
