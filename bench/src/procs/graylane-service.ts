/**
 * One service of the chain with graylane, as the demo wires it: Express middleware, axios
 * interceptor, selection on the embedded file registry (GRAYLANE_REGISTRY_DIR).
 *
 *   SERVICE=a NEXT=b GRAYLANE_LANE=gray GRAYLANE_REGISTRY_DIR=/tmp/x node dist/procs/graylane-service.js
 */
import axios from 'axios';
import express from 'express';
import { attachLaneRouting } from '@graylane/axios';
import { laneLabel } from '@graylane/core';
import { graylaneMiddleware } from '@graylane/express';
import { startGraylane } from '@graylane/node';
import { announce, required, type Hop } from './hops.js';

const service = required('SERVICE');
const next = process.env['NEXT'] || undefined;

const graylane = await startGraylane({ service, dependencies: next ? [next] : [] });
const http = axios.create({ timeout: 5_000 });
attachLaneRouting(http, { router: graylane.router, carriers: graylane.carriers });
const lane = laneLabel(graylane.lane);

const app = express();
app.use(graylaneMiddleware({ carriers: graylane.carriers }));
app.get(`/${service}`, async (req, res) => {
  const me: Hop = { service: service.toUpperCase(), lane, port: req.socket.localPort ?? 0 };
  try {
    const downstream = next ? (await http.get<Hop[]>(`http://${next}/${next}`, { headers: { accept: 'application/json' } })).data : [];
    res.json([me, ...downstream]);
  } catch (error) {
    res.status(502).json({ error: `${me.service} could not call ${next}`, detail: String(error) });
  }
});

const server = app.listen(0, '127.0.0.1');
// As the plain services: idle keep-alive connections outlive the pauses between benchmark rounds.
server.keepAliveTimeout = 65_000;
await new Promise<void>((resolve) => server.once('listening', resolve));
await graylane.register({ server });
graylane.handleSignals(server);
announce((server.address() as { port: number }).port);
