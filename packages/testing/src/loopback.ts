/**
 * Loopback helpers shared by the outbound core's and the adapters' suites: instances on 127.0.0.1,
 * closing servers, a port that refuses connections, addresses made services.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { laneMetadata } from '@graylane/core';
import type { Instance } from '@graylane/core';
import type { LaneRouter } from '@graylane/router';

/** An instance of `service` on 127.0.0.1:`port` in `lane`. */
export function instance(service: string, port: number, lane: string | undefined): Instance {
  return {
    id: `127.0.0.1:${port}`,
    service,
    host: '127.0.0.1',
    port,
    lane,
    weight: 1,
    healthy: true,
    enabled: true,
    metadata: laneMetadata(lane),
  };
}

/** Closes `servers`, their open connections included. */
export async function closeAll(servers: readonly http.Server[]): Promise<void> {
  await Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    ),
  );
}

/** A loopback port that refuses connections: a server's, closed. */
export async function deadPort(): Promise<number> {
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const { port } = closed.address() as AddressInfo;
  await new Promise((resolve) => closed.close(resolve));
  return port;
}

/**
 * The propagation contract calls servers by address; graylane routes (and writes carriers for)
 * services only. So every `127.0.0.1:<port>` the suite calls is made a one-instance service
 * `svc-<port>` and called by that name, which sends each call through selection as well.
 */
export function asService(router: LaneRouter, url: string): string {
  const { port, pathname, search } = new URL(url);
  const service = `svc-${port}`;
  if (!router.knows(service)) router.update(service, [instance(service, Number(port), undefined)]);
  return `http://${service}${pathname}${search}`;
}
