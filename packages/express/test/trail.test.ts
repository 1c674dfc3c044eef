import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { TRAIL_HEADER, ensureContextManager, getLane, getLaneTrail } from '@graylane/context';
import { graylaneMiddleware } from '../src/index.js';
import type { GraylaneMiddlewareOptions } from '../src/index.js';

/** An app whose one route adds a callee's trail after an await, then answers with `send`. */
async function serve(options: GraylaneMiddlewareOptions): Promise<{ port: number; close(): Promise<void> }> {
  const app = express();
  app.use(graylaneMiddleware(options));
  app.get('/', async (_req, res) => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    getLaneTrail()?.add('b[gray]@127.0.0.1:2');
    res.status(418).send(getLane() ?? 'base');
  });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function trailOf(port: number, headers: Record<string, string> = {}): Promise<string | string[] | undefined> {
  return (await answer(port, headers)).trail;
}

/** The lane the route ran in and the trail header. */
async function answer(port: number, headers: Record<string, string> = {}): Promise<{ lane: string; trail: string | undefined }> {
  const res = await fetch(`http://127.0.0.1:${port}/`, { headers });
  return { lane: await res.text(), trail: res.headers.get(TRAIL_HEADER) ?? undefined };
}

describe('graylaneMiddleware debug trail', () => {
  beforeAll(() => ensureContextManager());

  it('answers with this hop and the trails collected while handling the request', async () => {
    const app = await serve({ trail: { service: 'a', lane: 'gray' } });
    try {
      expect(await trailOf(app.port, { 'x-mse-tag': 'gray' })).toBe(`a[gray]@127.0.0.1:${app.port} > b[gray]@127.0.0.1:2`);
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

  it('colors an unmarked request at a gray instance, marks the hop, and keeps a carried lane', async () => {
    const app = await serve({ trail: { service: 'a', lane: 'gray' } });
    try {
      expect(await answer(app.port)).toEqual({ lane: 'gray', trail: `a[gray*]@127.0.0.1:${app.port} > b[gray]@127.0.0.1:2` });
      expect(await answer(app.port, { 'x-mse-tag': 'blue' })).toEqual({ lane: 'blue', trail: `a[gray]@127.0.0.1:${app.port} > b[gray]@127.0.0.1:2` });
    } finally {
      await app.close();
    }
  });

  it('takes the coloring function of the bootstrap, and coloring: false turns it off', async () => {
    let lane: string | undefined = 'gray';
    const colored = await serve({ coloring: () => lane });
    const off = await serve({ trail: { service: 'a', lane: 'gray' }, coloring: false });
    try {
      expect((await answer(colored.port)).lane).toBe('gray');
      lane = undefined; // e.g. its lane object was disabled
      expect((await answer(colored.port)).lane).toBe('base');
      expect(await answer(off.port)).toEqual({ lane: 'base', trail: `a[gray]@127.0.0.1:${off.port} > b[gray]@127.0.0.1:2` });
    } finally {
      await Promise.all([colored.close(), off.close()]);
    }
  });
});
