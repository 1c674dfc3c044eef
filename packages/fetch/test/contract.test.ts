import http from 'node:http';
import { Agent } from 'undici';
import { extractLane, withLane } from '@graylane/context';
import { createRouter } from '@graylane/router';
import type { LaneRouter } from '@graylane/router';
import { describePropagationContract, listen, sendJson } from '../../context/test/contract.js';
import type { PropagationAdapter } from '../../context/test/contract.js';
import { createLaneFetch } from '../src/index.js';
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

/** createLaneFetch outbound; plain node:http inbound with extractLane + withLane. */
function fetchAdapter(): PropagationAdapter {
  const router = createRouter(undefined);
  const dispatcher = new Agent({ connections: 64 });
  const laneFetch = createLaneFetch({ router, dispatcher });
  return {
    start: (handler) =>
      listen(
        http.createServer((req, res) => {
          withLane(extractLane(req.headers), async () => sendJson(res, await handler({ headers: req.headers })));
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
