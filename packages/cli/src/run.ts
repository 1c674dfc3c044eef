import { ExitCode, Interrupted, UsageError } from './command.js';
import type { Command, Context } from './command.js';
import { lanes } from './commands/lanes.js';
import { laneCommands } from './commands/lane.js';
import { rulesConvert } from './commands/rules-convert.js';
import { rulesExplain } from './commands/rules-explain.js';
import { rulesPublish } from './commands/rules-publish.js';
import { rulesSchema } from './commands/rules-schema.js';
import { rulesValidate } from './commands/rules-validate.js';
import { route } from './commands/route.js';
import { token } from './commands/token.js';
import { printError } from './report.js';

const COMMANDS: readonly Command[] = [rulesValidate, rulesExplain, rulesSchema, rulesConvert, rulesPublish, lanes, ...laneCommands, route, token];

/** Where {@link runCli} reads and writes; every field defaults to the process's own. */
export interface CliOptions {
  readonly stdout?: { write(text: string): unknown };
  readonly stderr?: { write(text: string): unknown };
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Relative file arguments resolve against it. */
  readonly cwd?: string;
  /**
   * Ends long-running commands (`lanes --watch`) with exit code 0, as Ctrl-C does. Aborted with an
   * {@link Interrupted} reason, it interrupts any other command: exit code `128 + ` its number.
   */
  readonly signal?: AbortSignal;
}

/**
 * Runs the `graylane` command line (`argv` without `node` and the script) and resolves with its
 * exit code. Never rejects: failures are printed as `graylane: <code>: <message>`, followed by the
 * issues they carry, one per line.
 */
export async function runCli(argv: readonly string[], options: CliOptions = {}): Promise<ExitCode> {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const context: Context = {
    env: options.env ?? process.env,
    cwd: options.cwd ?? process.cwd(),
    signal: options.signal ?? new AbortController().signal,
    out: (line) => stdout.write(`${line}\n`),
    err: (line) => stderr.write(`${line}\n`),
  };
  const command = COMMANDS.find(({ name }) => name.every((word, i) => argv[i] === word));
  if (!command) return overview(argv, context);
  try {
    return await command.run(argv.slice(command.name.length), context);
  } catch (error) {
    if (error instanceof Interrupted) {
      context.err(`graylane: ${error.message}`);
      return 128 + error.number;
    }
    if (error instanceof UsageError) {
      context.err(`graylane: usage: ${error.message}`);
      context.err(`Run 'graylane ${command.name.join(' ')} --help' for usage.`);
      return ExitCode.USAGE;
    }
    printError(context, error);
    return ExitCode.FAILURE;
  }
}

/** `graylane`, `graylane --help`, `graylane rules`, or an unknown command: the list of commands. */
function overview(argv: readonly string[], context: Context): ExitCode {
  const asked = argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help');
  const words = argv.filter((word) => !word.startsWith('-'));
  if (!asked && argv.length > 0) {
    const group = words.length === 1 && COMMANDS.some(({ name }) => name.length > 1 && name[0] === words[0]);
    const problem = words.length === 0 ? `unknown option ${argv[0]}` : group ? `"${words[0]}" needs a subcommand` : `unknown command "${words.join(' ')}"`;
    context.err(`graylane: usage: ${problem}`);
  }
  const width = Math.max(...COMMANDS.map(({ name }) => name.join(' ').length));
  const lines = [
    'Usage: graylane <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map(({ name, summary }) => `  ${name.join(' ').padEnd(width)}  ${summary}`),
    '',
    "Run 'graylane <command> --help' for a command's options.",
  ];
  for (const line of lines) (asked ? context.out : context.err)(line);
  return asked ? ExitCode.OK : ExitCode.USAGE;
}
