// The propagation contract over plain node:http with @graylane/context alone (extractLane + withLane in,
// injectLane out). Here, not in packages/context/test: @graylane/testing depends on context.
import http from 'node:http';
import { extractLane, getLane, injectLane, withLane } from '@graylane/context';
import { describePropagationContract, getJson, listen, sendJson } from '@graylane/testing';
import type { PropagationAdapter } from '@graylane/testing';

/** The smallest adapter pair: node:http inbound with extractLane + withLane, outbound with injectLane. */
function nodeHttpAdapter(): PropagationAdapter {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  return {
    start: (handler) =>
      listen(
        http.createServer((req, res) => {
          withLane(extractLane(req.headers), async () => sendJson(res, await handler({ headers: req.headers }))).catch((error: unknown) =>
            res.destroy(error instanceof Error ? error : new Error(String(error))),
          );
        }),
      ),
    call: (url, headers = {}) => {
      const outbound: Record<string, unknown> = { ...headers };
      injectLane(outbound, getLane());
      return getJson(url, outbound as http.OutgoingHttpHeaders, agent);
    },
    close: async () => agent.destroy(),
  };
}

describePropagationContract('node:http with extractLane / injectLane', nodeHttpAdapter);
