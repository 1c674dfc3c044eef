/**
 * @graylane/cli: the `graylane` command. `runCli` runs it in-process, for tools that embed it.
 *
 * @packageDocumentation
 */
export { runCli } from './run.js';
export type { CliOptions } from './run.js';
export { ExitCode, Interrupted } from './command.js';
