import type { Server } from 'node:http';
import { networkInterfaces } from 'node:os';
import type { AddressInfo } from 'node:net';
import { diag } from '@opentelemetry/api';
import { ErrorCode, GraylaneError, assertLane, laneFromEnv, laneLabel } from '@graylane/core';
import type { InstanceRegistration, Registry } from '@graylane/core';
import { ensureContextManager } from '@graylane/context';
import type { CarrierOptions } from '@graylane/context';
import { createRouter } from '@graylane/router';
import type { LaneRouter, RouterOptions } from '@graylane/router';
import { registryFromEnv } from './registry-from-env.js';

/** Options of {@link startGraylane}. */
export interface GraylaneOptions {
  /** This application's service name, as callers address it (`http://<service>/...`). */
  readonly service: string;
  /**
   * The lane this process serves; `undefined` or `base` for base. Default: read from the environment
   * (`GRAYLANE_LANE`, `MSE_ALICLOUD_SERVICE_TAG`, `alicloud.service.tag`, `traffic.opensergo.io/label`).
   */
  readonly lane?: string;
  /** The registry. Default: {@link registryFromEnv} (Nacos if `NACOS_SERVER_ADDR` is set, else the file registry). */
  readonly registry?: Registry;
  /** Services this application calls. They are watched at start, and start waits for their lists. */
  readonly dependencies?: readonly string[];
  /** Fallback chains, strict lanes and balancing; see `@graylane/router`. */
  readonly routing?: RouterOptions;
  /** Lane carriers to read and write; shared by the adapters given `graylane.carriers`. */
  readonly carriers?: CarrierOptions;
  /**
   * Milliseconds to keep serving after deregistering on shutdown, so callers see the instance leave
   * before its server closes. Default 500 with the embedded registries (they propagate in under
   * 500 ms) and 1500 with Nacos (its pushes take 0.5-1 s).
   */
  readonly drainMs?: number;
}

/** A running graylane for one application; see {@link startGraylane}. */
export interface Graylane {
  readonly service: string;
  /** The lane this process serves; `undefined` for base. */
  readonly lane: string | undefined;
  readonly registry: Registry;
  readonly router: LaneRouter;
  readonly carriers: CarrierOptions | undefined;
  /**
   * Announces this process at `host:port` under its service and lane. Pass the listening server to
   * take its port. Call it once the server accepts connections.
   */
  register(address: { server: Server; host?: string } | { host?: string; port: number }): Promise<InstanceRegistration>;
  /**
   * Deregisters, waits `drainMs` so callers stop routing here, closes `server` if given, then
   * releases the registry. Idempotent.
   */
  shutdown(server?: Server): Promise<void>;
  /**
   * Installs SIGTERM and SIGINT handlers that call {@link Graylane.shutdown} and exit with code 0
   * (or 1 when shutdown fails). Returns a function that removes them.
   */
  handleSignals(server?: Server): () => void;
}

/**
 * Starts graylane in an application: installs an AsyncLocalStorage context manager if none is
 * registered (an application that runs `@opentelemetry/sdk-node` keeps its own), resolves this
 * process's lane, connects the registry, and builds the lane router. Resolves once the instance
 * lists of every dependency have arrived, so the first request is routed on real data.
 *
 * @example
 * ```ts
 * const graylane = await startGraylane({ service: 'a', dependencies: ['b'] });
 * const server = app.listen(0, '127.0.0.1', () => graylane.register({ server }));
 * graylane.handleSignals(server);
 * ```
 */
export async function startGraylane(options: GraylaneOptions): Promise<Graylane> {
  if (!options.service || typeof options.service !== 'string') {
    throw new GraylaneError(ErrorCode.CONFIG_INVALID, 'startGraylane: `service` must be a non-empty string', {
      details: { path: 'service' },
    });
  }
  const lane = resolveLane(options.lane);
  ensureContextManager();
  const registry = options.registry ?? registryFromEnv();
  const router = createRouter(registry, options.routing);
  const dependencies = options.dependencies ?? [];
  try {
    if (dependencies.length > 0) await router.ready(dependencies);
  } catch (error) {
    router.close();
    await registry.close();
    throw error;
  }

  const drainMs = options.drainMs ?? (registry.kind === 'nacos' ? 1500 : 500);
  const registrations: InstanceRegistration[] = [];
  let stopping: Promise<void> | undefined;

  async function stop(server?: Server): Promise<void> {
    await Promise.allSettled(registrations.map((r) => registry.deregister(r)));
    if (registrations.length > 0 && drainMs > 0) await delay(drainMs);
    if (server?.listening) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    }
    router.close();
    await registry.close();
  }

  const graylane: Graylane = {
    service: options.service,
    lane,
    registry,
    router,
    carriers: options.carriers,
    async register(address) {
      const registration: InstanceRegistration = {
        service: options.service,
        lane,
        ...toHostPort(address),
      };
      await registry.register(registration);
      registrations.push(registration);
      diag.info(`graylane: registered ${options.service}[${laneLabel(lane)}] at ${registration.host}:${registration.port} in the ${registry.kind} registry`);
      return registration;
    },
    shutdown(server) {
      stopping ??= stop(server);
      return stopping;
    },
    handleSignals(server) {
      const onSignal = (signal: NodeJS.Signals) => {
        diag.info(`graylane: ${signal}: deregistering ${options.service}[${laneLabel(lane)}] and shutting down`);
        graylane.shutdown(server).then(
          () => process.exit(0),
          (error: unknown) => {
            diag.error('graylane: shutdown failed', error);
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

function resolveLane(configured: string | undefined): string | undefined {
  if (configured !== undefined) return assertLane(configured, 'startGraylane: `lane`');
  const fromEnv = laneFromEnv();
  // An invalid lane in the environment is a deployment error: fail at start-up, naming the variable.
  if (fromEnv.lane === null) return assertLane(process.env[fromEnv.source], `environment variable ${fromEnv.source}`);
  return fromEnv.lane;
}

function toHostPort(address: { server: Server; host?: string } | { host?: string; port: number }): { host: string; port: number } {
  if ('server' in address) {
    const bound = address.server.address();
    if (bound === null || typeof bound === 'string') {
      throw new GraylaneError(ErrorCode.CONFIG_INVALID, 'graylane.register: the server is not listening on a TCP port yet');
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
