import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeAll } from '../../outbound/test/support.js';

/** What an echo server saw. */
export interface Seen {
  server: string;
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Echo servers on 127.0.0.1, port 0; `close()` stops them all. */
export function echoServers() {
  const servers: http.Server[] = [];
  return {
    /**
     * Starts a server named `name` that answers with what it saw as JSON. `/redirect?to=<url>` answers
     * 302 to `<url>` instead.
     */
    async start(name: string): Promise<number> {
      const server = http.createServer((req, res) => {
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
          const seen: Seen = { server: name, method: req.method ?? '', path: req.url ?? '', headers: req.headers, body };
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(seen));
        });
      });
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return (server.address() as AddressInfo).port;
    },
    close: () => closeAll(servers),
  };
}

export { instance } from '../../outbound/test/support.js';
