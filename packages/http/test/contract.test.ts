import http from 'node:http';
import { extractLane, withLane } from '@graylane/context';
import { createRouter } from '@graylane/router';
import { asService, describePropagationContract, getJson, listen, sendJson } from '@graylane/testing';
import type { PropagationAdapter } from '@graylane/testing';
import { LaneAgent } from '../src/index.js';

/** LaneAgent outbound; plain node:http inbound with extractLane + withLane. */
function laneAgentAdapter(): PropagationAdapter {
  const router = createRouter(undefined);
  const agent = new LaneAgent({ router, keepAlive: true, maxSockets: 64 });
  return {
    start: (handler) =>
      listen(
        http.createServer((req, res) => {
          withLane(extractLane(req.headers), async () => sendJson(res, await handler({ headers: req.headers }))).catch((error: unknown) =>
            res.destroy(error instanceof Error ? error : new Error(String(error))),
          );
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
