import { Document, isScalar, visit } from 'yaml';
import { ExitCode, HELP_OPTION, UsageError, parseCommandLine } from '../command.js';
import type { Command } from '../command.js';
import { toNativeDocument } from '../native.js';
import { printWarnings } from '../report.js';
import { readRuleFile } from '../rules-file.js';

const FORMATS = ['native-yaml', 'json'] as const;

const options = { ...HELP_OPTION, to: { type: 'string', default: 'native-yaml' } } as const;

const help = `Usage: graylane rules convert <file> [--to native-yaml|json]

Prints the rules in <file> (any supported form: native, OpenSergo, MSE lane JSON, APISIX routes,
Istio VirtualService; several documents merge into one) as one native LaneRules document, to
migrate rules or to see what graylane understood: which lanes, conditions and priorities; fields
it ignored are named in the warnings. Parsing the output gives the same rules back. Warnings go to
standard error.

Options:
  --to <format>  native-yaml (default) or json
  -h, --help     show this help

Exit codes: 0 converted, 1 the rules are invalid or unreadable, 2 usage.`;

/** `graylane rules convert <file>`. */
export const rulesConvert: Command = {
  name: ['rules', 'convert'],
  summary: 'print rules of any form as one native document',
  help,

  async run(argv, context) {
    const parsed = parseCommandLine(argv, options, help, context);
    if (!parsed) return ExitCode.OK;
    const { values, positionals } = parsed;
    if (positionals.length !== 1) throw new UsageError('name exactly one rule file');
    if (!(FORMATS as readonly string[]).includes(values.to)) {
      throw new UsageError(`--to takes ${FORMATS.join(' or ')}, got ${JSON.stringify(values.to)}`);
    }
    const { rules, warnings } = await readRuleFile(positionals[0]!, context);
    printWarnings(context, warnings);
    const document = toNativeDocument(rules);
    context.out(values.to === 'json' ? JSON.stringify(document, null, 2) : toYaml(document));
    return ExitCode.OK;
  },
};

/** YAML with predicates, field keys and lists of names on one line each, as people write rules. */
function toYaml(value: Record<string, unknown>): string {
  const document = new Document(value, { aliasDuplicateObjects: false });
  visit(document, {
    Map(_, map) {
      if (map.has('operator') || map.has('type')) map.flow = true;
    },
    Seq(_, seq) {
      if (seq.items.every(isScalar)) seq.flow = true;
    },
  });
  return document.toString({ lineWidth: 0 }).trimEnd();
}
