/**
 * One service of the seed scenario (A, B or C), run as its own process by the launcher.
 *
 *   SERVICE=a NEXT=b GRAYLANE_LANE=gray [SERVICE_PORT=0] node dist/service.js
 *
 * `GET /<service>` answers one hop per service in call order, as text
 * (`A[gray]@127.0.0.1:50301 -> B[base]@... -> C[gray]@...`) or, with `Accept: application/json`,
 * as a JSON array of `{ service, lane, address }`.
 */
import express from 'express';
import axios from 'axios';
import { attachLaneRouting } from '@graylane/axios';
import { isGraylaneError, laneLabel } from '@graylane/core';
import { graylaneMiddleware } from '@graylane/express';
import { startGraylane } from '@graylane/node';

interface Hop {
  service: string;
  lane: string;
  address: string;
}

/** graylane's typed error as a failed answer carries it: the code, and the service and lane without an instance. */
interface Typed {
  code: string;
  service: string;
  lane: string;
}

const service = required('SERVICE');
const next = process.env['NEXT'] || undefined;

const graylane = await startGraylane({ service, dependencies: next ? [next] : [] });
const http = axios.create({ timeout: 5_000 });
attachLaneRouting(http, { router: graylane.router, carriers: graylane.carriers });

const app = express();
// The debug trail is on in the demo: every response lists the hops it went through (x-graylane-trail).
// A request reaching a gray instance with no lane is colored with its lane (GRAYLANE_COLORING=off: not).
app.use(graylaneMiddleware({ carriers: graylane.carriers, trail: graylane.trail, coloring: graylane.coloring }));
app.get(`/${service}`, async (req, res) => {
  const me: Hop = { service: service.toUpperCase(), lane: laneLabel(graylane.lane), address: `127.0.0.1:${req.socket.localPort}` };
  try {
    const downstream = next ? (await http.get<Hop[]>(`http://${next}/${next}`, { headers: { accept: 'application/json' } })).data : [];
    const hops = [me, ...downstream];
    if (req.accepts(['text', 'json']) === 'json') res.json(hops);
    else res.type('text/plain').send(hops.map((h) => `${h.service}[${h.lane}]@${h.address}`).join(' -> ') + '\n');
  } catch (error) {
    // graylane's typed error, raised here or answered by a hop further down, stays typed all the way
    // up: 503 with its code, and the service and lane that had no instance.
    const below = axios.isAxiosError(error) ? (error.response?.data as Partial<Typed> | undefined) : undefined;
    const typed: Partial<Typed> = isGraylaneError(error)
      ? { code: error.code, service: error.details['service'] as string | undefined, lane: error.details['lane'] as string | undefined }
      : { code: below?.code, service: below?.service, lane: below?.lane };
    const detail = axios.isAxiosError(error) ? (error.response?.data ?? error.message) : String(error);
    const answer = { error: `${me.service}[${me.lane}] could not call ${next}`, ...(typed.code === undefined ? {} : typed), detail };
    res.status(typed.code === undefined ? 502 : 503).json(answer);
  }
});

const server = app.listen(Number(process.env['SERVICE_PORT'] ?? 0), '127.0.0.1');
await new Promise<void>((resolve) => server.once('listening', resolve));
const { port } = server.address() as { port: number };
await graylane.register({ server });
graylane.handleSignals(server);
process.send?.({ ready: true, service, lane: laneLabel(graylane.lane), address: `127.0.0.1:${port}` });

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    console.error(`service.js: ${name} is required`);
    process.exit(2);
  }
  return value;
}
