import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { TRAIL_HEADER, ensureContextManager, getLaneTrail } from '@graylane/context';
import { graylaneMiddleware } from '../src/index.js';
import type { GraylaneMiddlewareOptions } from '../src/index.js';

/** An app whose one route adds a callee's trail after an await, then answers with `send`. */
async function serve(options: GraylaneMiddlewareOptions): Promise<{ port: number; close(): Promise<void> }> {
  const app = express();
  app.use(graylaneMiddleware(options));
  app.get('/', async (_req, res) => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    getLaneTrail()?.add('b[gray]@127.0.0.1:2');
    res.status(418).send('ok');
  });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function trailOf(port: number): Promise<string | string[] | undefined> {
  const res = await fetch(`http://127.0.0.1:${port}/`);
  await res.text();
  return res.headers.get(TRAIL_HEADER) ?? undefined;
}

describe('graylaneMiddleware debug trail', () => {
  beforeAll(() => ensureContextManager());

  it('answers with this hop and the trails collected while handling the request', async () => {
    const app = await serve({ trail: { service: 'a', lane: 'gray' } });
    try {
      expect(await trailOf(app.port)).toBe(`a[gray]@127.0.0.1:${app.port} > b[gray]@127.0.0.1:2`);
    } finally {
      await app.close();
    }
  });

  it('is off by default', async () => {
    const app = await serve({});
    try {
      expect(await trailOf(app.port)).toBeUndefined();
    } finally {
      await app.close();
    }
  });
});
