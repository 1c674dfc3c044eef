/**
 * One service of the chain without graylane: calls the next service at a fixed address with axios.
 * Copies an inbound `x-mse-tag` onto the outbound call, as an application must do for a mesh or
 * per-hop proxy to route on it (the `proxy` variant); in the `plain` variant no request carries one.
 *
 *   SERVICE=a LANE=base NEXT_URL=http://127.0.0.1:4001/b node dist/procs/plain-service.js
 */
import axios from 'axios';
import express from 'express';
import { announce, required, type Hop } from './hops.js';

const service = required('SERVICE');
const lane = process.env['LANE'] || 'base';
const nextUrl = process.env['NEXT_URL'] || undefined;
const http = axios.create({ timeout: 5_000 });

const app = express();
app.get(`/${service}`, async (req, res) => {
  const me: Hop = { service: service.toUpperCase(), lane, port: req.socket.localPort ?? 0 };
  try {
    let downstream: Hop[] = [];
    if (nextUrl) {
      const headers: Record<string, string> = { accept: 'application/json' };
      const tag = req.headers['x-mse-tag'];
      if (typeof tag === 'string') headers['x-mse-tag'] = tag;
      downstream = (await http.get<Hop[]>(nextUrl, { headers })).data;
    }
    res.json([me, ...downstream]);
  } catch (error) {
    res.status(502).json({ error: `${me.service} could not call ${nextUrl}`, detail: String(error) });
  }
});

const server = app.listen(Number(process.env['PORT'] ?? 0), '127.0.0.1', () => {
  announce((server.address() as { port: number }).port);
});
// Behind a proxy that keeps idle upstream connections longer than Node's 5 s default.
server.keepAliveTimeout = 65_000;
// Exit through process.exit so that --cpu-prof profiles are written.
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
