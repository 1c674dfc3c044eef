import { ExitCode, HELP_OPTION, JSON_OPTION, UsageError, parseCommandLine } from '../command.js';
import type { Command } from '../command.js';
import { nacosOptions } from '../environment.js';
import { printWarnings } from '../report.js';
import { readRuleFile } from '../rules-file.js';

const options = { ...HELP_OPTION, ...JSON_OPTION, 'data-id': { type: 'string' }, group: { type: 'string' } } as const;

const help = `Usage: graylane rules publish <file> --data-id <id> [--group <group>]

Validates <file> and publishes it, as written, to Nacos config, where applications watching
<id> pick it up. Invalid rules are refused and nothing is published; warnings are printed and
do not stop publishing.

Options:
  --data-id <id>     the config's data id (required)
  --group <group>    the config's group; default NACOS_GROUP, else DEFAULT_GROUP
  --json             print what was published as JSON
  -h, --help         show this help

Environment:
  NACOS_SERVER_ADDR  host:port[,host:port...] of Nacos (required)
  NACOS_NAMESPACE    namespace id; default the public namespace
  NACOS_GROUP        default group
  NACOS_USERNAME, NACOS_PASSWORD
                     credentials, set together
  NACOS_TLS          true or 1: connect over TLS; then optionally
                     NACOS_TLS_CA (CA PEM file), NACOS_TLS_SERVERNAME (name in the server's
                     certificate), NACOS_TLS_CERT + NACOS_TLS_KEY (client certificate and key)

Exit codes: 0 published, 1 invalid rules (nothing published) or Nacos failed, 2 usage.`;

/** `graylane rules publish <file> --data-id <id>`. */
export const rulesPublish: Command = {
  name: ['rules', 'publish'],
  summary: 'validate rules, then publish them to Nacos config',
  help,

  async run(argv, context) {
    const parsed = parseCommandLine(argv, options, help, context);
    if (!parsed) return ExitCode.OK;
    const { values, positionals } = parsed;
    if (positionals.length !== 1) throw new UsageError('name exactly one rule file');
    const dataId = values['data-id'];
    if (!dataId) throw new UsageError('--data-id is required');
    const nacos = await nacosOptions(context);
    if (!nacos) throw new UsageError('NACOS_SERVER_ADDR is not set; point it at Nacos (host:port)');
    const file = positionals[0]!;
    const { text, format, warnings } = await readRuleFile(file, context);
    printWarnings(context, warnings);
    // Loaded on demand, so that commands without Nacos start faster.
    const { DEFAULT_GROUP, createNacosConfig } = await import('@graylane/nacos');
    const group = values.group || nacos.group || DEFAULT_GROUP;
    const namespace = nacos.namespace ?? '';
    const config = createNacosConfig(nacos);
    try {
      await config.publish(dataId, text, group, { type: format });
    } finally {
      await config.close();
    }
    if (values.json) context.out(JSON.stringify({ file, serverAddr: nacos.serverAddr, namespace, group, dataId, format }, null, 2));
    else context.out(`published ${file} to ${nacos.serverAddr} as ${group}/${dataId}${namespace ? ` in namespace ${namespace}` : ''}`);
    return ExitCode.OK;
  },
};
