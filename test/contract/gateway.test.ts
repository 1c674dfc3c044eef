/**
 * The propagation contract through graylane's entry gateway (trusting its clients, as an inner
 * gateway does): requests reach a plain upstream through the gateway and its keep-alive agent, so
 * every inbound case also checks what the gateway forwards. Outbound calls use plain `injectLane`.
 */
import http from 'node:http';
import { createInstance } from '@graylane/core';
import { extractLane, getLane, injectLane, withLane } from '@graylane/context';
import { createGateway } from '@graylane/gateway';
import type { Gateway } from '@graylane/gateway';
import { createRouter } from '@graylane/router';
import { describePropagationContract, getJson, listen } from '@graylane/testing';
import type { ContractServer, PropagationAdapter } from '@graylane/testing';

describePropagationContract('entry gateway (trust: all) in front of a plain upstream', (): PropagationAdapter => {
  const router = createRouter(undefined);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const gateways: Gateway[] = [];
  return {
    async start(handler) {
      const upstream: ContractServer = await listen(
        http.createServer((req, res) => {
          withLane(extractLane(req.headers), async () => {
            const body = JSON.stringify(await handler({ headers: req.headers }));
            res.writeHead(200, { 'content-type': 'application/json' }).end(body);
          }).catch((error: unknown) => res.destroy(error instanceof Error ? error : new Error(String(error))));
        }),
      );
      const port = Number(new URL(upstream.url).port);
      const service = `up-${port}`;
      router.update(service, [createInstance({ service, host: '127.0.0.1', port })]);
      const gateway = createGateway({ router, upstream: service, trust: 'all' });
      gateways.push(gateway);
      const address = await gateway.listen(0);
      return {
        url: `http://127.0.0.1:${address.port}`,
        close: async () => {
          await gateway.close();
          await upstream.close();
        },
      };
    },
    call(url, headers = {}) {
      const outbound: Record<string, unknown> = { ...headers };
      injectLane(outbound, getLane());
      return getJson(url, outbound as http.OutgoingHttpHeaders, agent);
    },
    async close() {
      router.close();
      agent.destroy();
    },
  };
});
