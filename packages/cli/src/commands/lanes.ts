import { once } from 'node:events';
import { readdir } from 'node:fs/promises';
import type { Instance, Registry } from '@graylane/core';
import { ExitCode, HELP_OPTION, JSON_OPTION, UsageError, parseCommandLine } from '../command.js';
import type { Command, Context } from '../command.js';
import { registryTarget } from '../environment.js';
import type { RegistryTarget } from '../environment.js';
import { InstanceLists } from '../instance-lists.js';
import { formatTable } from '../table.js';

const options = { ...HELP_OPTION, ...JSON_OPTION, service: { type: 'string', multiple: true }, watch: { type: 'boolean' } } as const;

/** How long to wait for the registry's first list of every service. */
const READY_TIMEOUT_MS = 5000;
/** How often `--watch` looks for new service directories in the file registry. */
const DISCOVERY_INTERVAL_MS = 1000;

const help = `Usage: graylane lanes [--service <name>...] [--watch] [--json]

Lists the instances of services by lane, from the registry the environment names, as
applications choose it: Nacos when NACOS_SERVER_ADDR is set (with NACOS_NAMESPACE, NACOS_GROUP,
NACOS_USERNAME, NACOS_PASSWORD, and NACOS_TLS, NACOS_TLS_CA, NACOS_TLS_SERVERNAME, NACOS_TLS_CERT,
NACOS_TLS_KEY), else the file registry in GRAYLANE_REGISTRY_DIR, by default the user's folder
that every process of the user shares, whatever its working directory:
$XDG_RUNTIME_DIR/graylane/registry, else <tmpdir>/graylane-<uid>/registry (printed on stderr).

Options:
  --service <name>  a service to list (repeatable); required with Nacos, which is read by
                    subscription, service by service; default for the file registry: every
                    service in its directory
  --watch           then print every change (+ added, - removed, ~ changed) until Ctrl-C;
                    with the file registry and no --service, new services are picked up too
  --json            print a JSON array of instances; with --watch, one JSON change per line
  -h, --help        show this help

Exit codes: 0 listed (or watching ended by Ctrl-C), 1 the registry failed, 2 usage.`;

/** `graylane lanes`. */
export const lanes: Command = {
  name: ['lanes'],
  summary: 'list the instances of services by lane, from the registry',
  help,

  async run(argv, context) {
    const parsed = parseCommandLine(argv, options, help, context);
    if (!parsed) return ExitCode.OK;
    const { values, positionals } = parsed;
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}; name services with --service`);
    const target = await registryTarget(context);
    if (target.kind === 'nacos' && !values.service) {
      throw new UsageError('with Nacos (NACOS_SERVER_ADDR is set), name the services to list with --service');
    }
    const chosen = Boolean(context.env['GRAYLANE_REGISTRY_DIR']?.trim());
    const opened = await openRegistry(target, chosen, (message) => context.err(message));
    const { registry } = opened;
    const lists = new InstanceLists(registry);
    try {
      // The default folder is not where the user is: say where it is.
      if (opened.target.kind === 'file' && !chosen) context.err(`graylane: file registry ${opened.target.dir}`);
      const services = values.service ?? (await serviceDirectories(opened.target));
      for (const service of services) lists.add(service);
      const print = values.json ? printJsonChange(context) : printChange(context);
      const instances = await lists.ready(READY_TIMEOUT_MS, values.watch ? (before, after) => diff(before, after, print) : undefined);
      if (values.watch && values.json) diff([], instances, print);
      else if (values.json) context.out(JSON.stringify(instances.sort(byRow).map(toJson), null, 2));
      else printTable(context, instances);
      if (services.length === 0 && opened.target.kind === 'file' && !values.json) context.err(`graylane: no services in the file registry ${opened.target.dir}`);
      if (values.watch) await watch(context, opened.target, values.service === undefined, lists);
      return ExitCode.OK;
    } finally {
      lists.close();
      await registry.close();
    }
  },
};

/**
 * Registries load on demand, so that commands without one start faster. Without
 * GRAYLANE_REGISTRY_DIR (`chosen`), the file registry is the user's default one, as applications
 * open it (`createFileRegistry()`: the same folder, checked to be private); the target then names it.
 */
async function openRegistry(
  target: RegistryTarget,
  chosen: boolean,
  onDiagnostic: (message: string) => void,
): Promise<{ registry: Registry; target: RegistryTarget }> {
  if (target.kind === 'nacos') return { registry: (await import('@graylane/nacos')).createNacosRegistry(target.options), target };
  // Files it skips (a FIFO or a directory named *.json, junk) are said on stderr; none of them is opened for reading.
  const registry = (await import('@graylane/registry')).createFileRegistry(chosen ? { dir: target.dir, onDiagnostic } : { onDiagnostic });
  return { registry, target: { kind: 'file', dir: registry.dir } };
}

/** The services of the file registry: its subdirectories, named by URI-encoded service name. */
async function serviceDirectories(target: RegistryTarget): Promise<string[]> {
  if (target.kind !== 'file') return [];
  try {
    const entries = await readdir(target.dir, { withFileTypes: true });
    return entries.filter((entry) => entry.isDirectory()).flatMap((entry) => {
      try {
        return [decodeURIComponent(entry.name)];
      } catch {
        return []; // not a name the registry wrote
      }
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Waits for Ctrl-C, picking up new service directories of the file registry when asked to. */
async function watch(context: Context, target: RegistryTarget, discover: boolean, lists: InstanceLists): Promise<void> {
  // Registries unref their timers and sockets; this interval keeps the process watching.
  const timer = setInterval(() => {
    if (discover) void serviceDirectories(target).then((services) => services.forEach((service) => lists.add(service)), () => undefined);
  }, DISCOVERY_INTERVAL_MS);
  try {
    if (!context.signal.aborted) await once(context.signal, 'abort');
  } finally {
    clearInterval(timer);
  }
}

type Change = '+' | '-' | '~';
type PrintChange = (change: Change, instance: Instance) => void;

/** Reports what differs between two lists of one service, by instance id. */
function diff(before: readonly Instance[], after: readonly Instance[], print: PrintChange): void {
  const old = new Map(before.map((instance) => [instance.id, instance]));
  for (const instance of [...after].sort(byRow)) {
    const previous = old.get(instance.id);
    old.delete(instance.id);
    if (previous === undefined) print('+', instance);
    else if (rowOf(previous).join() !== rowOf(instance).join()) print('~', instance);
  }
  for (const gone of old.values()) print('-', gone);
}

const HEADER = ['service', 'lane', 'address', 'healthy', 'weight'];

function rowOf(instance: Instance): string[] {
  const healthy = `${instance.healthy ? 'yes' : 'no'}${instance.enabled ? '' : ' (disabled)'}`;
  return [instance.service, instance.lane ?? 'base', address(instance), healthy, String(instance.weight)];
}

function printTable(context: Context, instances: Instance[]): void {
  for (const line of formatTable(HEADER, instances.sort(byRow).map(rowOf))) context.out(line);
}

function printChange(context: Context): PrintChange {
  return (change, instance) => context.out(`${new Date().toTimeString().slice(0, 8)} ${change} ${rowOf(instance).join('  ')}`);
}

const CHANGES = { '+': 'added', '-': 'removed', '~': 'changed' } as const;

function printJsonChange(context: Context): PrintChange {
  return (change, instance) => context.out(JSON.stringify({ time: new Date().toISOString(), change: CHANGES[change], ...toJson(instance) }));
}

function toJson(instance: Instance) {
  const { service, lane, host, port, healthy, enabled, weight, metadata } = instance;
  return { service, lane: lane ?? 'base', address: address(instance), host, port, healthy, enabled, weight, metadata };
}

function address({ host, port }: Instance): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Service, then lane (base first), then address. */
function byRow(a: Instance, b: Instance): number {
  return (
    a.service.localeCompare(b.service) ||
    (a.lane ?? '').localeCompare(b.lane ?? '') ||
    address(a).localeCompare(address(b), undefined, { numeric: true })
  );
}
