// TLS for the tests: r-nacos has no TLS listener, so the suites put a TLS-terminating TCP proxy in
// front of it, with a throw-away CA and server certificate made by `openssl` at test time.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';

/** A CA and a server certificate it signed, PEM. */
export interface TestPki {
  readonly ca: Buffer;
  readonly serverCert: Buffer;
  readonly serverKey: Buffer;
  /** Another CA, which did not sign the server certificate. */
  readonly otherCa: Buffer;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const reason = (error as { code?: string }).code === 'ENOENT' ? '`openssl` is not on PATH' : (error as Error).message;
    throw new Error(`cannot generate the test certificates (openssl ${args[0]}): ${reason}`);
  }
}

/**
 * Generates, in a temporary folder removed afterwards, a CA and a server certificate for
 * `127.0.0.1` and `localhost` (valid one day), plus an unrelated CA.
 */
export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'graylane-nacos-tls-'));
  try {
    for (const name of ['ca', 'other-ca']) {
      openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '1', '-subj', `/CN=graylane test ${name}`], dir);
    }
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
    openssl(
      [
        'x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1',
        '-extfile', writeExt(dir),
      ],
      dir,
    );
    const read = (file: string) => readFileSync(join(dir, file));
    return { ca: read('ca.pem'), serverCert: read('server.pem'), serverKey: read('server.key'), otherCa: read('other-ca.pem') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function writeExt(dir: string): string {
  const file = join(dir, 'server.ext');
  writeFileSync(file, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  return file;
}

/** A TLS-terminating proxy: TLS on `port`, plain TCP to `127.0.0.1:target`. */
export interface TlsProxy {
  readonly port: number;
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

function tlsProxyServer(pki: TestPki, target: number, alpn: string[]): { server: tls.Server; close(): Promise<void> } {
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({ key: pki.serverKey, cert: pki.serverCert, ALPNProtocols: alpn }, (socket) => {
    const upstream = net.connect(target, '127.0.0.1');
    for (const s of [socket, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        socket.destroy();
        upstream.destroy();
      });
    }
    socket.pipe(upstream).pipe(socket);
  });
  server.on('tlsClientError', () => undefined); // a client that rejects our certificate: expected in tests
  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Puts TLS in front of a Nacos server: a proxy on a loopback port `p` for its HTTP port (the login)
 * and one on `p + 1000` for its gRPC port, so the client's `serverAddr` is `127.0.0.1:p` and the
 * gRPC-port-is-HTTP-port-plus-1000 rule holds unchanged.
 */
export async function startTlsFront(pki: TestPki, nacos: { httpPort: number; grpcPort: number }): Promise<{ serverAddr: string; close(): Promise<void> }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const http = tlsProxyServer(pki, nacos.httpPort, ['http/1.1']);
    const grpc = tlsProxyServer(pki, nacos.grpcPort, ['h2']);
    let port: number;
    try {
      port = await listen(http.server, 0);
    } catch {
      continue;
    }
    if (port + 1000 > 65535) {
      await http.close();
      continue;
    }
    try {
      await listen(grpc.server, port + 1000);
    } catch {
      await http.close();
      continue;
    }
    return { serverAddr: `127.0.0.1:${port}`, close: async () => void (await Promise.all([http.close(), grpc.close()])) };
  }
  throw new Error('no free loopback port pair (p, p + 1000) for the TLS proxies');
}
