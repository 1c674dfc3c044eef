import { laneLabel } from '@graylane/core';
import type { Instance, InstanceRegistration, Registry } from '@graylane/core';
import type { LaneRouter } from '@graylane/router';

/**
 * Where graylane's own messages go ({@link GraylaneOptions.logger}). `console`, pino and winston
 * loggers fit as they are. Messages are plain sentences starting with `graylane: `; `error` gets
 * the error as its second argument.
 */
export interface GraylaneLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string, error?: unknown): void;
}

/** Environment variables of graylane's start-up diagnostics; see docs/reference/configuration.md. */
export const StartupEnv = {
  /** `off`, `false` or `0`: no start-up line (warnings stay). */
  GRAYLANE_STARTUP_LOG: 'GRAYLANE_STARTUP_LOG',
} as const;

/** The default logger: one line per message on stderr, warnings marked `graylane: warning: `. */
export const stderrLogger: GraylaneLogger = {
  info: (message) => writeLine(message),
  warn: (message) => writeLine(message.replace(/^graylane: /, 'graylane: warning: ')),
  error: (message, error) => writeLine(error === undefined ? message : `${message}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`),
};

function writeLine(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** How the start-up line names the registry: `file registry <dir>`, `Nacos registry at <addr>`, ... */
export function describeRegistry(registry: Registry, env: Readonly<Record<string, string | undefined>> | undefined): string {
  const dir = (registry as { dir?: unknown }).dir;
  if (registry.kind === 'file' && typeof dir === 'string') return `file registry ${dir}`;
  if (registry.kind === 'nacos') {
    const addr = env?.['NACOS_SERVER_ADDR']?.trim();
    const namespace = env?.['NACOS_NAMESPACE']?.trim();
    return addr ? `Nacos registry at ${addr}${namespace ? `, namespace ${namespace}` : ''}` : 'Nacos registry';
  }
  return `${registry.kind} registry`;
}

/** A process that has not registered this long after start logs its start-up line anyway. */
const UNREGISTERED_LINE_MS = 5000;
/** How long after a call to a host the router does not know it is checked again, before warning. */
const UNKNOWN_HOST_CHECK_MS = 1000;
/** At most this many unknown hosts are tracked and warned about. */
const MAX_UNKNOWN_HOSTS = 100;

interface DiagnosticsOptions {
  /** This process, as `service[lane]`. */
  readonly me: string;
  readonly router: LaneRouter;
  readonly registryText: string;
  readonly dependencies: readonly string[];
  readonly logger: GraylaneLogger | undefined;
  readonly startupLog: boolean;
}

/** Start-up line and warnings of one graylane; see {@link createDiagnostics}. */
export interface Diagnostics {
  /** The router to hand out: the same router, also noticing calls to hosts that look like services it does not know. */
  readonly router: LaneRouter;
  /** Logs the start-up line at the first registration, a short line for later ones. */
  registered(registration: InstanceRegistration): void;
  /** Stops timers and listeners (shutdown). */
  close(): void;
}

/**
 * Reports, once the first instance lists are in: each dependency with no instance (then on every
 * change to none and back) or no base instance, and, through the router it returns, hosts that
 * look like service names (one DNS label, not `localhost`) which outbound adapters sent unrouted
 * because the router does not know them. Nothing is logged per request: each host is reported once.
 */
export function createDiagnostics(options: DiagnosticsOptions): Diagnostics {
  const { me, router, registryText, dependencies, logger, startupLog } = options;
  const empty = new Set<string>();
  const pending = new Set<string>();
  const warned = new Set<string>();
  let lined = false;
  let closed = false;

  const depsText = (): string =>
    dependencies.length === 0 ? '' : `; depends on ${dependencies.map((dep) => `${dep}: ${summary(router.instances(dep))}`).join('; ')}`;

  for (const dep of dependencies) {
    const instances = usable(router.instances(dep));
    if (instances.length === 0) {
      empty.add(dep);
      logger?.warn(
        `graylane: ${dep} has no instance in the ${registryText}: calls from ${me} to it fail (GRAYLANE_ERR_NO_INSTANCE) until one registers. ` +
          'Is it running, and registered in the same registry?',
      );
    } else if (!instances.some((instance) => instance.lane === undefined)) {
      logger?.warn(
        `graylane: ${dep} has no base instance (${summary(instances)}): calls from ${me} in base, and in lanes ${dep} has no instance of, fail until one registers`,
      );
    }
  }
  const offChange = router.onChange((service, instances) => {
    if (closed || !dependencies.includes(service)) return;
    const count = usable(instances).length;
    if (count === 0 && !empty.has(service)) {
      empty.add(service);
      logger?.warn(`graylane: ${service} has no instance any more in the ${registryText}: calls from ${me} to it fail until one registers`);
    } else if (count > 0 && empty.delete(service)) {
      logger?.info(`graylane: ${service} has instances again: ${summary(instances)}`);
    }
  });

  const unregistered =
    startupLog && logger
      ? setTimeout(() => {
          if (lined || closed) return;
          lined = true;
          logger.info(`graylane: ${me} started without registering (${registryText})${depsText()}`);
        }, UNREGISTERED_LINE_MS).unref()
      : undefined;

  function knows(service: string): boolean {
    const known = router.knows(service);
    if (!known && logger && !closed && !warned.has(service) && !pending.has(service) && warned.size + pending.size < MAX_UNKNOWN_HOSTS && looksLikeService(service)) {
      // Adapters given `services` start watching a declared host right after asking: check again later.
      pending.add(service);
      setTimeout(() => {
        pending.delete(service);
        if (closed || router.knows(service)) return;
        warned.add(service);
        logger.warn(
          `graylane: a call from ${me} to the host ${service} went out unrouted: ${service} is not a service graylane watches, so no instance was picked ` +
            `and no lane was sent (DNS decides where it goes). If ${service} is a service, add it to the dependencies of startGraylane, or to the adapter's services option`,
        );
      }, UNKNOWN_HOST_CHECK_MS).unref();
    }
    return known;
  }

  return {
    // Everything else is the router's own (prototype delegation keeps `this` and getters working).
    router: Object.assign(Object.create(router) as LaneRouter, { knows }),

    registered({ host, port }) {
      if (!logger || !startupLog) return;
      const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
      if (lined) {
        logger.info(`graylane: ${me} also registered at ${address}`);
        return;
      }
      lined = true;
      clearTimeout(unregistered);
      logger.info(`graylane: ${me} registered at ${address} (${registryText})${depsText()}`);
    },

    close() {
      closed = true;
      clearTimeout(unregistered);
      offChange();
    },
  };
}

function usable(instances: readonly Instance[]): readonly Instance[] {
  return instances.filter((instance) => instance.healthy && instance.enabled);
}

/** `2 instances (base, gray)`, `3 instances (base x2, gray)`, `no instance`; unusable ones counted apart. */
function summary(all: readonly Instance[]): string {
  const instances = usable(all);
  const lanes = new Map<string, number>();
  for (const instance of instances) lanes.set(laneLabel(instance.lane), (lanes.get(laneLabel(instance.lane)) ?? 0) + 1);
  const byLane = [...lanes]
    .sort(([a], [b]) => (a === 'base' ? -1 : b === 'base' ? 1 : a.localeCompare(b)))
    .map(([lane, count]) => (count > 1 ? `${lane} x${count}` : lane));
  const text = instances.length === 0 ? 'no instance' : `${instances.length} instance${instances.length > 1 ? 's' : ''} (${byLane.join(', ')})`;
  const unusable = all.length - instances.length;
  return unusable > 0 ? `${text}, ${unusable} unhealthy or disabled` : text;
}

/** One DNS label (`orders`, `user-service`), not `localhost` nor a number: what a service name in a URL looks like. */
function looksLikeService(host: string): boolean {
  return /^[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?$/i.test(host) && host.toLowerCase() !== 'localhost' && !/^\d+$/.test(host);
}
