import { nativeRuleJsonSchema } from '@graylane/rules';
import { ExitCode, HELP_OPTION, UsageError, parseCommandLine } from '../command.js';
import type { Command } from '../command.js';

const options = { ...HELP_OPTION } as const;

const help = `Usage: graylane rules schema

Prints the JSON Schema (draft 2020-12) of the native rule form, for completion and checking in
editors. With the YAML language server (VS Code's YAML extension):

  graylane rules schema > graylane-rules.schema.json

then either start a rule file with
  # yaml-language-server: $schema=./graylane-rules.schema.json
or map files to it in .vscode/settings.json:
  "yaml.schemas": { "./graylane-rules.schema.json": ["lanes/*.yaml"] }

Options:
  -h, --help  show this help

Exit codes: 0 printed, 2 usage.`;

/** `graylane rules schema`. */
export const rulesSchema: Command = {
  name: ['rules', 'schema'],
  summary: 'print the JSON Schema of the native rule form, for editors',
  help,

  async run(argv, context) {
    const parsed = parseCommandLine(argv, options, help, context);
    if (!parsed) return ExitCode.OK;
    if (parsed.positionals.length > 0) throw new UsageError('takes no arguments');
    context.out(JSON.stringify(nativeRuleJsonSchema(), null, 2));
    return ExitCode.OK;
  },
};
