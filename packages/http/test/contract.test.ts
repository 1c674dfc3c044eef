import http from 'node:http';
import { extractLane, withLane } from '@graylane/context';
import { createRouter } from '@graylane/router';
import type { LaneRouter } from '@graylane/router';
import { describePropagationContract, getJson, listen, sendJson } from '../../context/test/contract.js';
import type { PropagationAdapter } from '../../context/test/contract.js';
import { LaneAgent } from '../src/index.js';
import { instance } from './support.js';

/**
 * The suite calls servers by address; graylane routes (and writes carriers for) services only. So
 * every `127.0.0.1:<port>` the suite calls is made a one-instance service `svc-<port>` and called by
 * that name, which sends each call through selection as well.
 */
function asService(router: LaneRouter, url: string): string {
  const { port, pathname, search } = new URL(url);
  const service = `svc-${port}`;
  if (!router.knows(service)) router.update(service, [instance(service, Number(port), undefined)]);
  return `http://${service}${pathname}${search}`;
}

/** LaneAgent outbound; plain node:http inbound with extractLane + withLane. */
function laneAgentAdapter(): PropagationAdapter {
  const router = createRouter(undefined);
  const agent = new LaneAgent({ router, keepAlive: true, maxSockets: 64 });
  return {
    start: (handler) =>
      listen(
        http.createServer((req, res) => {
          withLane(extractLane(req.headers), async () => sendJson(res, await handler({ headers: req.headers })));
        }),
      ),
    call: (url, headers = {}) => getJson(asService(router, url), headers, agent),
    close: async () => {
      agent.destroy();
      router.close();
    },
  };
}

jest.setTimeout(20_000);

describePropagationContract('LaneAgent with extractLane / withLane', laneAgentAdapter);
