/**
 * Test helpers shared by the outbound adapters' suites (`packages/<adapter>/test` import them from
 * here, as they import the contract suites from `packages/context/test`).
 */
import type http from 'node:http';
import { laneMetadata } from '@graylane/core';
import type { Instance } from '@graylane/core';

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
