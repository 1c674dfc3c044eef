import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';

/** Exit codes of the `graylane` command. */
export const ExitCode = {
  /** The command did what was asked; nothing wrong was found. */
  OK: 0,
  /** Findings (invalid rules) or a failure (unreachable registry, unreadable file). */
  FAILURE: 1,
  /** The command line is wrong: unknown command or option, missing argument, missing environment. */
  USAGE: 2,
} as const;

/**
 * One of the {@link ExitCode} values, or `128 + n` when signal `n` (SIGINT, SIGTERM) interrupted a
 * command before it finished, as shells report it (130 for Ctrl-C, 143 for SIGTERM).
 */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode] | number;

/**
 * The reason the `graylane` process aborts {@link Context.signal} with when a signal arrives. A
 * command still working when it fires (a long parse, a request) rejects with it, and the exit code
 * is `128 + ` the signal's number; a watching command (`lanes --watch`) ends normally instead.
 */
export class Interrupted extends Error {
  override readonly name = 'Interrupted';
  constructor(
    readonly signal: 'SIGINT' | 'SIGTERM',
    /** The signal's number (`os.constants.signals`). */
    readonly number: number,
  ) {
    super(`interrupted by ${signal}`);
  }
}

/** What a command may touch: its output streams, the environment, the working directory. */
export interface Context {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Relative file arguments resolve against this directory. */
  readonly cwd: string;
  /**
   * Aborted on Ctrl-C or SIGTERM (the reason is an {@link Interrupted}): long-running commands
   * (`lanes --watch`) stop when it fires, and every long step (reading, parsing and compiling a rule
   * file) gives up at once.
   */
  readonly signal: AbortSignal;
  /** Writes one line to standard output. */
  out(line: string): void;
  /** Writes one line to standard error. */
  err(line: string): void;
}

/** One `graylane` command. */
export interface Command {
  /** The words that name it: `['rules', 'validate']`. */
  readonly name: readonly string[];
  /** One line for the command list. */
  readonly summary: string;
  /** The full `--help` text. */
  readonly help: string;
  /** Runs the command with the arguments after its name. */
  run(argv: readonly string[], context: Context): Promise<ExitCode>;
}

/** A wrong command line. Printed with a pointer to `--help`; the exit code is {@link ExitCode.USAGE}. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Options every command takes. */
export const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;
/** The `--json` option of commands that print results for machines. */
export const JSON_OPTION = { json: { type: 'boolean' } } as const;

/**
 * `parseArgs` in strict mode, with its errors turned into {@link UsageError}s. Returns `undefined`
 * when `--help` was given, after printing `help`; `options` should include {@link HELP_OPTION}.
 */
export function parseCommandLine<const O extends NonNullable<ParseArgsConfig['options']>>(
  argv: readonly string[],
  options: O,
  help: string,
  context: Context,
): ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>> | undefined {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if ((parsed.values as { help?: boolean }).help) {
    context.out(help);
    return undefined;
  }
  return parsed;
}
