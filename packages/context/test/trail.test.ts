import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { context } from '@opentelemetry/api';
import {
  MAX_TRAIL_LENGTH,
  TRAIL_HEADER,
  createInboundLane,
  createLaneTrail,
  ensureContextManager,
  getLaneTrail,
  setLaneTrail,
} from '@graylane/context';
import type { InboundLaneOptions } from '@graylane/context';

describe('createLaneTrail', () => {
  it('is this hop alone until a callee answers', () => {
    expect(String(createLaneTrail({ service: 'a', lane: 'gray', address: '10.0.0.1:80' }))).toBe('a[gray]@10.0.0.1:80');
    expect(String(createLaneTrail({ service: 'a' }))).toBe('a[base]');
  });

  it('takes the address of the socket the request arrived on, unless the hop names one', () => {
    expect(String(createLaneTrail({ service: 'a' }, { localAddress: '::ffff:127.0.0.1', localPort: 4001 }))).toBe('a[base]@127.0.0.1:4001');
    expect(String(createLaneTrail({ service: 'a' }, { localAddress: '::1', localPort: 4001 }))).toBe('a[base]@[::1]:4001');
    expect(String(createLaneTrail({ service: 'a', address: 'a.svc:80' }, { localAddress: '::1', localPort: 4001 }))).toBe('a[base]@a.svc:80');
  });

  it('follows this hop with one callee, and lists several in parentheses', () => {
    const trail = createLaneTrail({ service: 'a', lane: 'gray' });
    trail.add('b[base] > c[gray]');
    expect(String(trail)).toBe('a[gray] > b[base] > c[gray]');
    trail.add(undefined);
    trail.add('d[base]');
    expect(String(trail)).toBe('a[gray] > (b[base] > c[gray], d[base])');
  });

  it('joins a header that arrived more than once', () => {
    const trail = createLaneTrail({ service: 'a' });
    trail.add(['b[base]', 'c[base]']);
    expect(String(trail)).toBe('a[base] > b[base], c[base]');
  });

  it('drops anything but printable ASCII from what a callee sends, so no header can be injected', () => {
    const trail = createLaneTrail({ service: 'a' });
    trail.add('b[base]\r\nset-cookie: x=1\u0000é');
    trail.add(' \r\n ');
    expect(String(trail)).toBe('a[base] > b[base]set-cookie: x=1');
  });

  it(`is at most ${MAX_TRAIL_LENGTH} characters, cut with "..."`, () => {
    const trail = createLaneTrail({ service: 'a' });
    for (let i = 0; i < 1000; i++) trail.add(`b${i}[base]@127.0.0.1:${4000 + i}`);
    const value = String(trail);
    expect(value).toHaveLength(MAX_TRAIL_LENGTH);
    expect(value.endsWith('...')).toBe(true);
    expect(value.startsWith('a[base] > (b0[base]@127.0.0.1:4000, b1[base]')).toBe(true);
  });

  it('rides in a context', () => {
    const trail = createLaneTrail({ service: 'a' });
    expect(getLaneTrail(setLaneTrail(context.active(), trail))).toBe(trail);
    expect(getLaneTrail()).toBeUndefined();
  });
});

describe('createInboundLane with a trail', () => {
  beforeAll(() => ensureContextManager());

  /** A node:http server running `handle` in the inbound context; resolves with its URL and a closer. */
  async function serve(options: InboundLaneOptions, handle: (res: http.ServerResponse) => void) {
    const inbound = createInboundLane(options);
    const server = http.createServer((req, res) => context.with(inbound(req, res), () => handle(res)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return { port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }

  function get(port: number, headers: http.OutgoingHttpHeaders = {}): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, headers, agent: false }, (res) => resolve(res.resume())).on('error', reject);
    });
  }

  it('writes the trail as it stands when the head is written implicitly (res.end)', async () => {
    const server = await serve({ trail: { service: 'a', lane: 'gray' } }, (res) => {
      setImmediate(() => {
        getLaneTrail()!.add('b[base]');
        res.end('ok');
      });
    });
    try {
      const res = await get(server.port);
      expect(res.headers[TRAIL_HEADER]).toBe(`a[gray*]@127.0.0.1:${server.port} > b[base]`);
    } finally {
      await server.close();
    }
  });

  it('writes it when the head is written explicitly, with headers of its own (as Fastify does)', async () => {
    const server = await serve({ trail: { service: 'a', address: 'a:80' } }, (res) => {
      getLaneTrail()!.add('b[gray]');
      res.writeHead(201, { 'content-type': 'text/plain' }).end('ok');
    });
    try {
      const res = await get(server.port);
      expect(res.statusCode).toBe(201);
      expect(res.headers['content-type']).toBe('text/plain');
      expect(res.headers[TRAIL_HEADER]).toBe('a[base]@a:80 > b[gray]');
    } finally {
      await server.close();
    }
  });

  it('is off by default: no trail in the context, no header', async () => {
    let seen: unknown = 'not run';
    const server = await serve({}, (res) => {
      seen = getLaneTrail();
      res.end('ok');
    });
    try {
      const res = await get(server.port);
      expect(seen).toBeUndefined();
      expect(res.headers[TRAIL_HEADER]).toBeUndefined();
    } finally {
      await server.close();
    }
  });
});
