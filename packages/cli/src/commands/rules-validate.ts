import type { RuleIssue } from '@graylane/rules';
import { ExitCode, HELP_OPTION, Interrupted, JSON_OPTION, UsageError, parseCommandLine } from '../command.js';
import type { Command, Context } from '../command.js';
import { formatIssue, issuesOf, printError } from '../report.js';
import { readRuleFile } from '../rules-file.js';

/** What `--json` prints for each file. */
interface FileResult {
  readonly file: string;
  readonly ok: boolean;
  /** Errors first, then warnings. */
  readonly issues: readonly RuleIssue[];
  /** Set when the file could not be read or parsed at all. */
  readonly error?: { readonly code: string; readonly message: string };
}

const options = { ...HELP_OPTION, ...JSON_OPTION } as const;

const help = `Usage: graylane rules validate <file...> [--json]

Parses each file (YAML or JSON; native, OpenSergo or MSE form) as an application would, and
prints every problem with its path, then the warnings (such as rules that can never match
because an earlier rule takes all their requests). Each file is a rule set of its own.

Options:
  --json      print one result per file as JSON
  -h, --help  show this help

Exit codes: 0 every file is valid (warnings allowed), 1 a file is invalid or unreadable, 2 usage.`;

/** `graylane rules validate <file...>`. */
export const rulesValidate: Command = {
  name: ['rules', 'validate'],
  summary: 'check rule files and print every problem with its path',
  help,

  async run(argv, context) {
    const parsed = parseCommandLine(argv, options, help, context);
    if (!parsed) return ExitCode.OK;
    if (parsed.positionals.length === 0) throw new UsageError('name at least one rule file');
    const results: FileResult[] = [];
    for (const file of parsed.positionals) results.push(await validate(file, context, !parsed.values.json));
    if (parsed.values.json) context.out(JSON.stringify(results, null, 2));
    return results.every((result) => result.ok) ? ExitCode.OK : ExitCode.FAILURE;
  },
};

async function validate(file: string, context: Context, print: boolean): Promise<FileResult> {
  try {
    const { rules, warnings } = await readRuleFile(file, context);
    if (print) {
      const counts = `${plural(rules.lanes.length, 'lane')}, ${plural(rules.groups.length, 'group')}`;
      context.out(`${file}: valid (${counts}${warnings.length > 0 ? `, ${plural(warnings.length, 'warning')}` : ''})`);
      for (const warning of warnings) context.out(formatIssue(warning));
    }
    return { file, ok: true, issues: warnings };
  } catch (error) {
    if (error instanceof Interrupted) throw error; // the whole command ends, not just this file
    if (print) printError(context, error);
    const issues = issuesOf(error);
    if (issues.length > 0) return { file, ok: false, issues };
    const { code, message } = error as { code?: string; message: string };
    return { file, ok: false, issues, error: { code: code ?? 'error', message } };
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
