import http from 'node:http';
import { Agent } from 'undici';
import { extractLane, withLane } from '@graylane/context';
import { createRouter } from '@graylane/router';
import { asService, describePropagationContract, listen, sendJson } from '@graylane/testing';
import type { PropagationAdapter } from '@graylane/testing';
import { createLaneFetch } from '../src/index.js';

/** createLaneFetch outbound; plain node:http inbound with extractLane + withLane. */
function fetchAdapter(): PropagationAdapter {
  const router = createRouter(undefined);
  const dispatcher = new Agent({ connections: 64 });
  const laneFetch = createLaneFetch({ router, dispatcher });
  return {
    start: (handler) =>
      listen(
        http.createServer((req, res) => {
          withLane(extractLane(req.headers), async () => sendJson(res, await handler({ headers: req.headers }))).catch((error: unknown) =>
            res.destroy(error instanceof Error ? error : new Error(String(error))),
          );
        }),
      ),
    call: async (url, headers = {}) => {
      const response = await laneFetch(asService(router, url), { headers });
      if (response.status !== 200) throw new Error(`GET ${url}: ${response.status}`);
      return response.json();
    },
    close: async () => {
      router.close();
      await dispatcher.close();
    },
  };
}

jest.setTimeout(20_000);

describePropagationContract('createLaneFetch with extractLane / withLane', fetchAdapter);
