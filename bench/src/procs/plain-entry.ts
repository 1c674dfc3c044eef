/**
 * A minimal Node reverse proxy with no lane logic, in front of the plain chain (`plain+entry`): the
 * same kind of extra process and hop that graylane's entry gateway adds, so that the gap between
 * `plain` and `graylane` can be split into "an entry proxy hop" and "graylane's own work".
 *
 *   TARGET=127.0.0.1:4000 node dist/procs/plain-entry.js
 */
import http from 'node:http';
import { announce, required } from './hops.js';

const [host, port] = required('TARGET').split(':') as [string, string];
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const name in headers) if (!HOP_BY_HOP.has(name)) out[name] = headers[name];
  return out;
}

const server = http.createServer((req, res) => {
  const headers = endToEnd(req.headers);
  headers['x-forwarded-for'] = req.socket.remoteAddress ?? 'unknown';
  const upstream = http.request({ host, port: Number(port), method: req.method, path: req.url, headers, agent });
  upstream.on('response', (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.headers));
    answer.pipe(res);
  });
  upstream.on('error', () => {
    if (res.headersSent) res.destroy();
    else res.writeHead(502).end();
  });
  req.pipe(upstream);
});
server.listen(0, '127.0.0.1', () => announce((server.address() as { port: number }).port));
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
