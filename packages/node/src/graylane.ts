import type { Server } from 'node:http';
import { networkInterfaces } from 'node:os';
import type { AddressInfo } from 'node:net';
import { ErrorCode, GraylaneError, assertLane, laneFromEnv, laneLabel } from '@graylane/core';
import type { InstanceRegistration, Registry } from '@graylane/core';
import { createCarriers, ensureContextManager } from '@graylane/context';
import type { CarrierOptions, Carriers, TrailHop } from '@graylane/context';
import { createRouter } from '@graylane/router';
import type { LaneRouter, RouterOptions } from '@graylane/router';
import { StartupEnv, createDiagnostics, describeRegistry, stderrLogger } from './diagnostics.js';
import type { GraylaneLogger } from './diagnostics.js';
import { registryLoaded } from './lazy.js';
import { registryFromEnv } from './registry-from-env.js';
import { RulesEnv, rulesFromEnv } from './rules/from-env.js';
import { createRulesManager } from './rules/manager.js';
import type { RulesManager, RulesManagerOptions } from './rules/manager.js';
import { followRulesPolicy } from './rules/policy.js';
import type { RuleSource } from './rules/source.js';
import { followLanes, laneStateRouter, lanesFromEnv } from './lanes/state.js';
import type { LaneState } from './lanes/state.js';

/** Environment variables of coloring at gray nodes; see docs/reference/configuration.md. */
export const ColoringEnv = {
  /** `off`, `false` or `0` turns coloring off (the default of {@link GraylaneOptions.coloring}). */
  GRAYLANE_COLORING: 'GRAYLANE_COLORING',
} as const;

/**
 * Where {@link startGraylane} takes lane rules from, with how it loads them. `source: 'env'` reads
 * the environment ({@link rulesFromEnv}).
 */
export interface GraylaneRulesOptions extends RulesManagerOptions {
  readonly source: RuleSource | 'env';
}

/** Options of {@link startGraylane}. */
export interface GraylaneOptions {
  /** This application's service name, as callers address it (`http://<service>/...`). */
  readonly service: string;
  /**
   * The lane this process serves; `undefined` or `base` for base. Default: read from the environment
   * (`GRAYLANE_LANE`, `MSE_ALICLOUD_SERVICE_TAG`, `alicloud.service.tag`, `traffic.opensergo.io/label`).
   */
  readonly lane?: string | undefined;
  /**
   * The registry. Default: {@link registryFromEnv} (Nacos if `NACOS_SERVER_ADDR` is set, else the
   * file registry in the user's folder shared by all their processes, or in `GRAYLANE_REGISTRY_DIR`).
   * For the file registry in a folder of your choice: `createFileRegistry({ dir })` of @graylane/registry.
   */
  readonly registry?: Registry | undefined;
  /**
   * Services this application calls. They are watched at start, and start waits for their lists.
   * One with no instance then, or later, is reported with a warning (see {@link GraylaneOptions.logger}).
   */
  readonly dependencies?: readonly string[] | undefined;
  /**
   * Fallback chains, strict lanes and balancing; see `@graylane/router`. With `rules`, the fallback
   * chains and strict lanes come from the rules: `fallback` and `strict` may not be set here.
   */
  readonly routing?: RouterOptions | undefined;
  /**
   * Lane rules, hot-reloaded: a {@link RuleSource}, `'env'` for {@link rulesFromEnv}, or a source
   * with loading options. `startGraylane` resolves only once the first rules are applied (see
   * {@link RulesManagerOptions.onMissing} for a source that has none or is slow), and keeps the
   * router's fallback chains and strict lanes those of the rules in force. The manager is
   * {@link Graylane.rules}: give its matcher to the entry gateway or middleware.
   */
  readonly rules?: RuleSource | 'env' | GraylaneRulesOptions | undefined;
  /**
   * Lane carriers to read and write (options, or a value of `createCarriers`): validated once, at
   * start-up, into {@link Graylane.carriers}, which the adapters are given. Default: graylane's.
   */
  readonly carriers?: CarrierOptions | Carriers | undefined;
  /**
   * The lane store to follow (lane objects: `graylane lane create/disable/enable`): a disabled or
   * expired lane routes like base at this hop, and its entry rule stops coloring requests. Default
   * `'env'`: {@link lanesFromEnv} (`GRAYLANE_LANES_FILE` or `GRAYLANE_LANES_DATA_ID`), none when
   * neither is set; `false` for none. @experimental
   */
  readonly lanes?: RuleSource | 'env' | false | undefined;
  /**
   * Coloring at gray nodes: whether this instance, when it is in a lane, runs requests that arrive
   * with no lane in its lane for the rest of their chain (as OpenSergo and MSE do), through
   * {@link Graylane.coloring}. `true`, `false`, or by lane (`{ canary: false }`; lanes not listed
   * color). Default `true`, unless the environment variable `GRAYLANE_COLORING` is `off`, `false`
   * or `0`. A base instance never colors, nor one whose lane object is disabled or expired.
   */
  readonly coloring?: boolean | Readonly<Record<string, boolean>> | undefined;
  /**
   * Milliseconds to keep serving after deregistering on shutdown, so callers see the instance leave
   * before its server closes. Default 500 with the embedded registries (they propagate in under
   * 500 ms) and 1500 with Nacos (its pushes take 0.5-1 s).
   */
  readonly drainMs?: number | undefined;
  /**
   * Where graylane's own messages go: the start-up line, warnings (a dependency with no instance, a
   * call to a host that looks like a service graylane does not know) and shutdown. They are
   * written at start-up and on changes, never per request. Anything with `info`, `warn` and
   * `error` taking a message string fits: `console`, a pino or winston logger. `false` silences
   * them. Default: lines on stderr. (Request-path diagnostics of the adapters go to OpenTelemetry's
   * `diag`; see docs/guides/debugging.md.)
   */
  readonly logger?: GraylaneLogger | false | undefined;
  /**
   * Whether to log one line when this process is up: its service and lane, its address, the
   * registry and where it lives, and each dependency's instances by lane. Default `true`, unless the
   * environment variable `GRAYLANE_STARTUP_LOG` is `off`, `false` or `0`. Warnings are logged either way.
   */
  readonly startupLog?: boolean | undefined;
}

/** The address {@link Graylane.register} announces: a server's (once it listens), or a host and port. */
export type RegisterAddress =
  | { readonly server: Server; readonly host?: string | undefined }
  | { readonly host?: string | undefined; readonly port: number };

/** A running graylane for one application; see {@link startGraylane}. */
export interface Graylane {
  readonly service: string;
  /** The lane this process serves; `undefined` for base. */
  readonly lane: string | undefined;
  readonly registry: Registry;
  readonly router: LaneRouter;
  /** The carriers, validated: pass them to every adapter (`carriers: graylane.carriers`) and to OpenTelemetry (`graylane.carriers.propagator`). */
  readonly carriers: Carriers;
  /**
   * This process as a hop of the debug trail (`{ service, lane }`). Pass it as the `trail` option
   * of the inbound middleware, `GraylaneModule` or the gateway to turn the `x-graylane-trail`
   * response header on (docs/guides/debugging.md).
   */
  readonly trail: TrailHop;
  /** The lane rules when {@link GraylaneOptions.rules} was given: `matcher()`, `status()`, `onChange()`. */
  readonly rules: RulesManager | undefined;
  /** The lane objects followed, when a lane store is configured ({@link GraylaneOptions.lanes}). @experimental */
  readonly lanes: LaneState | undefined;
  /**
   * Coloring at gray nodes, for the `coloring` option of the inbound middleware or `GraylaneModule`:
   * the lane to color a request that arrives with no lane with, now: this process's lane, unless it
   * is base, {@link GraylaneOptions.coloring} turns it off, or its lane object is disabled or
   * expired ({@link GraylaneOptions.lanes}); else `undefined`. One set lookup; no I/O.
   */
  readonly coloring: () => string | undefined;
  /**
   * Announces this process at `host:port` under its service and lane. Pass the server to take its
   * port: called right after `listen(...)`, it waits until the server listens, and rejects with the
   * listen error (`EADDRINUSE`, ...) when listening fails, so nothing is announced that no one
   * serves. The first registration logs the start-up line (see {@link GraylaneOptions.startupLog}).
   *
   * @throws GraylaneError `GRAYLANE_ERR_CONFIG_INVALID` when the server is not listening (its
   *   listen failed: the message and `cause` hold the listen error) or listens on a pipe.
   */
  register(address: RegisterAddress): Promise<InstanceRegistration>;
  /**
   * Deregisters, waits `drainMs` so callers stop routing here, closes `server` if given, then
   * releases the registry and the rule source. Idempotent.
   */
  shutdown(server?: Server | undefined): Promise<void>;
  /**
   * Installs SIGTERM and SIGINT handlers that call {@link Graylane.shutdown} and exit with code 0
   * (or 1 when shutdown fails). Returns a function that removes them.
   */
  handleSignals(server?: Server | undefined): () => void;
}

/**
 * Starts graylane in an application: installs an AsyncLocalStorage context manager if none is
 * registered (an application that runs `@opentelemetry/sdk-node` keeps its own), resolves this
 * process's lane, connects the registry, and builds the lane router. Resolves once the instance
 * lists of every dependency have arrived and the rules (if any) are applied, so the first request
 * is routed on real data.
 *
 * @example
 * ```ts
 * const graylane = await startGraylane({ service: 'a', dependencies: ['b'] });
 * const server = app.listen(3000, '127.0.0.1');
 * await graylane.register({ server }); // rejects with the listen error, e.g. EADDRINUSE
 * graylane.handleSignals(server);
 * ```
 */
export async function startGraylane(options: GraylaneOptions & { readonly rules: NonNullable<GraylaneOptions['rules']> }): Promise<Graylane & { readonly rules: RulesManager }>;
export async function startGraylane(options: GraylaneOptions): Promise<Graylane>;
export async function startGraylane(options: GraylaneOptions): Promise<Graylane> {
  if (!options.service || typeof options.service !== 'string') {
    throw new GraylaneError(ErrorCode.CONFIG_INVALID, 'startGraylane: `service` must be a non-empty string', {
      details: { path: 'service' },
    });
  }
  const lane = resolveLane(options.lane);
  const carriers = createCarriers(options.carriers);
  const logger = options.logger === false ? undefined : (options.logger ?? stderrLogger);
  const startupLog = options.startupLog ?? !['off', 'false', '0'].includes(process.env[StartupEnv.GRAYLANE_STARTUP_LOG]?.trim().toLowerCase() ?? '');
  ensureContextManager();
  const registry = options.registry ?? registryFromEnv();
  await registryLoaded(registry); // Nacos is made (and @graylane/nacos loaded) now: its option errors fail start-up
  const registryText = describeRegistry(registry, options.registry === undefined ? process.env : undefined);
  const router = createRouter(registry, options.routing);
  const dependencies = [...new Set(options.dependencies ?? [])];
  let rules: RulesManager | undefined;
  let lanes: LaneState | undefined;
  try {
    const laneSource = options.lanes === false ? undefined : options.lanes === undefined || options.lanes === 'env' ? lanesFromEnv() : options.lanes;
    lanes = laneSource ? followLanes(laneSource) : undefined;
    await lanes?.ready();
    rules = options.rules === undefined ? undefined : startRules(options.rules, options.routing, lanes);
    await Promise.all([dependencies.length > 0 ? router.ready(dependencies) : undefined, rules?.ready()]);
    if (rules) followRulesPolicy(router, rules);
  } catch (error) {
    router.close();
    await rules?.close();
    await lanes?.close();
    await registry.close();
    throw error;
  }

  const coloring = coloringOf(lane, options.coloring, lanes);
  const me = `${options.service}[${laneLabel(lane)}]`;
  const diagnostics = createDiagnostics({ me, router, registryText, dependencies, logger, startupLog });
  const drainMs = options.drainMs ?? (registry.kind === 'nacos' ? 1500 : 500);
  const registrations: InstanceRegistration[] = [];
  let stopping: Promise<void> | undefined;

  async function stop(server?: Server): Promise<void> {
    diagnostics.close();
    await Promise.allSettled(registrations.map((r) => registry.deregister(r)));
    if (registrations.length > 0 && drainMs > 0) await delay(drainMs);
    if (server?.listening) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    }
    router.close();
    await Promise.all([registry.close(), rules?.close(), lanes?.close()]);
  }

  const graylane: Graylane = {
    service: options.service,
    lane,
    registry,
    router: lanes ? laneStateRouter(diagnostics.router, lanes) : diagnostics.router,
    carriers,
    trail: { service: options.service, lane },
    rules,
    lanes,
    coloring,
    async register(address) {
      if ('server' in address) await listening(address.server);
      const registration: InstanceRegistration = {
        service: options.service,
        lane,
        ...toHostPort(address),
      };
      await registry.register(registration);
      registrations.push(registration);
      diagnostics.registered(registration);
      return registration;
    },
    shutdown(server) {
      stopping ??= stop(server);
      return stopping;
    },
    handleSignals(server) {
      const onSignal = (signal: NodeJS.Signals) => {
        logger?.info(`graylane: ${signal}: deregistering ${me} and shutting down`);
        graylane.shutdown(server).then(
          () => process.exit(0),
          (error: unknown) => {
            logger?.error('graylane: shutdown failed', error);
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
      return () => {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      };
    },
  };
  return graylane;
}

function startRules(rules: RuleSource | 'env' | GraylaneRulesOptions, routing: RouterOptions | undefined, lanes: LaneState | undefined): RulesManager {
  if (routing?.fallback !== undefined || routing?.strict !== undefined) {
    throw new GraylaneError(ErrorCode.CONFIG_INVALID, 'startGraylane: with `rules`, fallback chains and strict lanes come from the rules; remove `routing.fallback` and `routing.strict`', {
      details: { path: 'routing' },
    });
  }
  const { source, ...given } = rules === 'env' || !('source' in rules) ? { source: rules } : rules;
  const loading = lanes ? { ...given, overlay: lanes } : given;
  if (source !== 'env') return createRulesManager(source, loading);
  const fromEnv = rulesFromEnv();
  if (!fromEnv) {
    throw new GraylaneError(ErrorCode.CONFIG_INVALID, `startGraylane: \`rules: 'env'\`, but neither ${RulesEnv.GRAYLANE_RULES_FILE} nor ${RulesEnv.GRAYLANE_RULES_DATA_ID} is set`, {
      details: { path: 'rules', variables: [RulesEnv.GRAYLANE_RULES_FILE, RulesEnv.GRAYLANE_RULES_DATA_ID] },
    });
  }
  return createRulesManager(fromEnv, loading);
}

/** {@link Graylane.coloring}: the lane to color unmarked requests with now, if any. */
function coloringOf(lane: string | undefined, configured: GraylaneOptions['coloring'], lanes: LaneState | undefined): () => string | undefined {
  const on = configured ?? !['off', 'false', '0'].includes(process.env[ColoringEnv.GRAYLANE_COLORING]?.trim().toLowerCase() ?? '');
  if (lane === undefined || on === false || (on !== true && Object.prototype.hasOwnProperty.call(on, lane) && on[lane] === false)) return () => undefined;
  if (!lanes) return () => lane;
  let inactive = lanes.inactive();
  lanes.onChange(() => (inactive = lanes.inactive()));
  return () => (inactive.has(lane) ? undefined : lane);
}

function resolveLane(configured: string | undefined): string | undefined {
  if (configured !== undefined) return assertLane(configured, 'startGraylane: `lane`');
  const fromEnv = laneFromEnv();
  // An invalid lane in the environment is a deployment error: fail at start-up, naming the variable.
  if (fromEnv.lane === null) return assertLane(process.env[fromEnv.source], `environment variable ${fromEnv.source}`);
  return fromEnv.lane;
}

/** How long {@link Graylane.register} waits for a server that is not listening yet (a host name being looked up). */
const LISTEN_WAIT_MS = 1000;

/**
 * Resolves once `server` listens; rejects with the listen error when it fails. A server whose
 * listen failed before (Express 5 hands the error to the `listen` callback) or was never asked to
 * listen rejects after {@link LISTEN_WAIT_MS}.
 */
function listening(server: Server): Promise<void> {
  if (server.listening) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      clearTimeout(timer);
      server.off('listening', onListening);
      server.off('error', onError);
      if (error) reject(error);
      else resolve();
    };
    const onListening = () => done();
    const onError = (error: Error) => done(notListening(`listen failed: ${error.message}`, error));
    const timer = setTimeout(
      () =>
        done(
          notListening(
            `it did not start listening within ${LISTEN_WAIT_MS} ms: its listen failed before register was called ` +
              "(Express 5 and Node pass the listen error, e.g. EADDRINUSE, to the listen callback or the server's 'error' event: handle it there), " +
              'or listen was never called. Call register right after listen(...) to get the listen error here',
          ),
        ),
      LISTEN_WAIT_MS,
    );
    server.once('listening', onListening);
    server.once('error', onError);
  });
}

function notListening(reason: string, cause?: Error): GraylaneError {
  const { code, address, port } = (cause ?? {}) as NodeJS.ErrnoException & { address?: string; port?: number };
  return new GraylaneError(ErrorCode.CONFIG_INVALID, `graylane.register: the server is not listening: ${reason}`, {
    details: { path: 'server', ...(code ? { code } : {}), ...(address ? { address } : {}), ...(port !== undefined ? { port } : {}) },
    ...(cause ? { cause } : {}),
  });
}

function toHostPort(address: RegisterAddress): { host: string; port: number } {
  if ('server' in address) {
    const bound = address.server.address();
    if (bound === null) throw notListening('it has no address');
    if (typeof bound === 'string') {
      throw new GraylaneError(ErrorCode.CONFIG_INVALID, `graylane.register: the server listens on ${bound}, a pipe or Unix socket, not a TCP port: pass { host, port } to register`, {
        details: { path: 'server' },
      });
    }
    return { host: address.host ?? advertisedHost((bound as AddressInfo).address), port: (bound as AddressInfo).port };
  }
  return { host: address.host ?? '127.0.0.1', port: address.port };
}

/**
 * The host to advertise for a server bound to `address`. A wildcard bind advertises `GRAYLANE_HOST`
 * if set, else the first non-internal IPv4 address of the machine (as Nacos clients do), else loopback.
 */
function advertisedHost(address: string): string {
  if (address !== '0.0.0.0' && address !== '::') return address;
  const configured = process.env['GRAYLANE_HOST']?.trim();
  if (configured) return configured;
  for (const addresses of Object.values(networkInterfaces())) {
    for (const candidate of addresses ?? []) {
      if (candidate.family === 'IPv4' && !candidate.internal) return candidate.address;
    }
  }
  return '127.0.0.1';
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
