/** Echo servers on loopback: the outbound adapters' suites check what a request looked like when it arrived. */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { closeAll } from './loopback.js';

/** What an echo server saw. */
export interface Seen {
  server: string;
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The TLS server name (SNI) the client sent, for https servers. */
  servername?: string | false;
}

/** Echo servers on 127.0.0.1, port 0; `close()` stops them all. */
export function echoServers() {
  const servers: http.Server[] = [];
  /**
   * Answers with what it saw as JSON (the request body read to its end). `/redirect?to=<url>`
   * answers 302 to `<url>` instead.
   */
  const handler = (name: string) => (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const to = url.pathname === '/redirect' ? url.searchParams.get('to') : null;
    if (to !== null) {
      res.writeHead(302, { location: to }).end();
      return;
    }
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const socket = req.socket as { servername?: string | false };
      const seen: Seen = { server: name, method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, servername: socket.servername };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(seen));
    });
  };
  const listen = async (server: http.Server): Promise<number> => {
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  };
  return {
    /** Starts a plain HTTP echo server named `name`; resolves to its port. */
    start: (name: string) => listen(http.createServer(handler(name))),
    /** Starts an HTTPS echo server named `name` with `tls`; resolves to its port. */
    startTls: (name: string, tls: https.ServerOptions) => listen(https.createServer(tls, handler(name))),
    close: () => closeAll(servers),
  };
}
