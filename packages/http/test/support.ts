import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { closeAll } from '../../outbound/test/support.js';

/** What an echo server saw. */
export interface Seen {
  server: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** The TLS server name (SNI) the client sent, for https servers. */
  servername?: string | false;
}

/** A response: status and parsed JSON body. */
export interface Reply {
  status: number;
  body: Seen;
}

/** Echo servers on 127.0.0.1, port 0, answering with what they saw as JSON; `close()` stops them all. */
export function echoServers() {
  const servers: http.Server[] = [];
  const handler = (name: string) => (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket as { servername?: string | false };
    const seen: Seen = { server: name, path: req.url ?? '', headers: req.headers, servername: socket.servername };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(seen));
  };
  const listen = async (server: http.Server): Promise<number> => {
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  };
  return {
    start: (name: string) => listen(http.createServer(handler(name))),
    startTls: (name: string, tls: https.ServerOptions) => listen(https.createServer(tls, handler(name))),
    close: () => closeAll(servers),
  };
}

/** GETs `url` with `options` (agent, headers, ...) through `node:http` or `node:https`. */
export function get(url: string, options: http.RequestOptions): Promise<Reply> {
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(url, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body) as Seen }));
    });
    req.on('error', reject);
  });
}

export { instance } from '../../outbound/test/support.js';
