/**
 * The propagation contract over graylane's Express middleware (inbound) and axios interceptor
 * (outbound): the same suite every adapter pair passes.
 */
import http from 'node:http';
import axios from 'axios';
import express from 'express';
import { createInstance } from '@graylane/core';
import { graylaneMiddleware } from '@graylane/express';
import { attachLaneRouting } from '@graylane/axios';
import { createRouter } from '@graylane/router';
import { describePropagationContract, listen } from '@graylane/testing';
import type { PropagationAdapter } from '@graylane/testing';

describePropagationContract('express middleware + axios interceptor', (): PropagationAdapter => {
  const router = createRouter(undefined);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const client = axios.create({ httpAgent: agent });
  attachLaneRouting(client, { router });
  return {
    async start(handler) {
      const app = express();
      app.use(graylaneMiddleware());
      app.use(async (req, res) => {
        res.json(await handler({ headers: req.headers }));
      });
      return listen(http.createServer(app));
    },
    async call(url, headers) {
      // Address the server by a service name, so the interceptor routes it (and writes carriers).
      const target = new URL(url);
      const port = Number(target.port);
      const service = `svc-${port}`;
      if (!router.knows(service)) {
        router.update(service, [createInstance({ service, host: '127.0.0.1', port })]);
      }
      const { data } = await client.get(`http://${service}${target.pathname}${target.search}`, { headers });
      return data;
    },
    async close() {
      router.close();
      agent.destroy();
    },
  };
});

