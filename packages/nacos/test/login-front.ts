// A plain front for a Nacos server that counts logins and can hand out a token the server will
// refuse: HTTP on a loopback port p (logins answered or forwarded, everything else forwarded) and
// a TCP pipe on p + 1000 to the server's gRPC port, so `serverAddr` is `127.0.0.1:p`.
import * as http from 'node:http';
import * as net from 'node:net';

export interface LoginFront {
  readonly serverAddr: string;
  /** Logins that reached the front, in order, with the time they arrived. */
  readonly logins: { readonly path: string; readonly at: number }[];
  /** The next this many logins are answered with a token the server does not know. */
  bogusLogins: number;
  close(): Promise<void>;
}

function listen(server: net.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

function closing(server: net.Server, sockets: Set<net.Socket>): () => Promise<void> {
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
}

export async function startLoginFront(nacos: { httpPort: number; grpcPort: number }): Promise<LoginFront> {
  const front: LoginFront = { serverAddr: '', logins: [], bogusLogins: 0, close: async () => undefined };
  for (let attempt = 0; attempt < 20; attempt++) {
    const web = http.createServer((request, response) => {
      if (request.method === 'POST' && /\/auth\/(user\/)?login$/.test(request.url ?? '')) {
        front.logins.push({ path: request.url ?? '', at: Date.now() });
        if (front.bogusLogins > 0) {
          front.bogusLogins--;
          request.resume();
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ accessToken: 'not-a-token-the-server-gave', tokenTtl: 3600, globalAdmin: false, username: 'x' }));
          return;
        }
      }
      const upstream = http.request(
        { host: '127.0.0.1', port: nacos.httpPort, method: request.method, path: request.url, headers: request.headers, agent: false },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      upstream.on('error', () => response.destroy());
      request.pipe(upstream);
    });
    const pipe = net.createServer((socket) => {
      const upstream = net.connect(nacos.grpcPort, '127.0.0.1');
      const destroy = () => {
        socket.destroy();
        upstream.destroy();
      };
      socket.on('error', destroy);
      upstream.on('error', destroy);
      socket.pipe(upstream).pipe(socket);
    });
    const closeWeb = closing(web, new Set());
    const closePipe = closing(pipe, new Set());
    let port: number;
    try {
      port = await listen(web, 0);
    } catch {
      continue;
    }
    try {
      if (port + 1000 > 65535) throw new Error('port out of range');
      await listen(pipe, port + 1000);
    } catch {
      await closeWeb();
      continue;
    }
    return Object.assign(front, {
      serverAddr: `127.0.0.1:${port}`,
      close: async () => void (await Promise.all([closeWeb(), closePipe()])),
    });
  }
  throw new Error('no free loopback port pair (p, p + 1000) for the login front');
}
