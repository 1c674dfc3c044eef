import { constants } from 'node:os';
import { Interrupted } from './command.js';
import { runCli } from './run.js';

// The first Ctrl-C (or SIGTERM) ends a watching command cleanly and interrupts any other one (exit
// code 128 + the signal's number); a second one ends the process at once.
const controller = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    controller.abort(new Interrupted(signal, constants.signals[signal]));
    process.once(signal, () => process.exit(128 + constants.signals[signal]));
  });
}

process.exitCode = await runCli(process.argv.slice(2), { signal: controller.signal });
