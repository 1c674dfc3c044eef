/**
 * The propagation contract every inbound + outbound adapter pair honours (express + axios, the
 * gateway, plain node:http, ...). Call {@link describePropagationContract} from a test file with a
 * factory for the adapter; the suite starts its own servers on 127.0.0.1, port 0, and closes them.
 */
import http from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setImmediate as immediate, setTimeout as sleep } from 'node:timers/promises';
import { ensureContextManager, getLane, withLane } from '@graylane/context';

/** What an inbound adapter hands the suite's handler. */
export interface ContractRequest {
  readonly headers: IncomingHttpHeaders;
}

/** The suite's request handler. It runs in the context the inbound adapter set up; its resolved value is the JSON response. */
export type ContractHandler = (request: ContractRequest) => unknown;

/** A started server. */
export interface ContractServer {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** Stops the server and drops its connections. */
  close(): Promise<void>;
}

/** An inbound + outbound adapter pair under test. */
export interface PropagationAdapter {
  /**
   * Starts an HTTP server on 127.0.0.1, port 0, with the adapter's inbound side installed, that calls
   * `handler` for every request in the request's lane and answers 200 with its resolved value as JSON.
   */
  start(handler: ContractHandler): Promise<ContractServer>;
  /**
   * GETs `url` through the adapter's outbound side, from the active context (which holds the lane),
   * adding `headers`, and resolves with the parsed JSON body.
   */
  call(url: string, headers?: Readonly<Record<string, string>>): Promise<unknown>;
  /** Releases what the adapter holds (agents, clients). */
  close?(): Promise<void>;
}

/** Options of {@link describePropagationContract}. */
export interface ContractOptions {
  /** Requests in the concurrency test (default 1000). */
  readonly requests?: number;
}

interface Echo {
  readonly lane?: string | null;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: string[];
}

interface HopResult {
  readonly before: string | null;
  readonly after: string | null;
  readonly downstream: { readonly lane: string | null };
}

const LANES = ['gray', 'blue', 'feature-x', 'rc.1', undefined] as const;

/** Runs the propagation contract over the adapter pair that `factory` makes. */
export function describePropagationContract(
  name: string,
  factory: () => PropagationAdapter | Promise<PropagationAdapter>,
  options: ContractOptions = {},
): void {
  describe(`propagation contract: ${name}`, () => {
    let adapter: PropagationAdapter;
    let echo: ContractServer;
    let laneServer: ContractServer;
    let hop: ContractServer;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    const raw = (url: string, headers: Record<string, string | string[]> = {}) => getJson(url, headers, agent);

    beforeAll(async () => {
      ensureContextManager();
      adapter = await factory();
      echo = await listen(http.createServer((req, res) => sendJson(res, { headers: req.headers, rawHeaders: req.rawHeaders })));
      laneServer = await adapter.start(() => ({ lane: getLane() ?? null }));
      hop = await adapter.start(async () => {
        const before = getLane() ?? null;
        await (Math.random() < 0.5 ? sleep(Math.floor(Math.random() * 3)) : immediate());
        const downstream = await adapter.call(laneServer.url);
        return { before, after: getLane() ?? null, downstream };
      });
    });

    afterAll(async () => {
      await Promise.all([echo?.close(), laneServer?.close(), hop?.close(), adapter?.close?.()]);
      agent.destroy();
    });

    describe('inbound', () => {
      const cases: [string, Record<string, string>, string | null][] = [
        ['reads x-mse-tag', { 'x-mse-tag': 'gray' }, 'gray'],
        ['reads the baggage lane entry among others', { baggage: 'tenant=acme,lane=blue;p=1,user=42' }, 'blue'],
        ['prefers x-mse-tag over a conflicting baggage entry', { 'x-mse-tag': 'gray', baggage: 'lane=blue' }, 'gray'],
        ['treats no carrier as base', {}, null],
        ['treats an explicit base as base', { 'x-mse-tag': 'base', baggage: 'lane=blue' }, null],
        ['skips a malformed x-mse-tag for the next valid carrier', { 'x-mse-tag': '../admin', baggage: 'lane=blue' }, 'blue'],
        ['ignores an oversized lane header', { 'x-mse-tag': 'g'.repeat(4000) }, null],
        ['ignores a baggage header over 8192 bytes', { baggage: `lane=gray,pad=${'x'.repeat(8200)}` }, null],
      ];
      it.each(cases)('%s', async (_title, headers, lane) => {
        await expect(raw(laneServer.url, headers)).resolves.toEqual({ lane });
      });

      it('does not leak a lane into the next request on the same connection', async () => {
        const oneSocket = new http.Agent({ keepAlive: true, maxSockets: 1 });
        try {
          await expect(getJson(laneServer.url, { 'x-mse-tag': 'gray' }, oneSocket)).resolves.toEqual({ lane: 'gray' });
          await expect(getJson(laneServer.url, {}, oneSocket)).resolves.toEqual({ lane: null });
        } finally {
          oneSocket.destroy();
        }
      });
    });

    describe('outbound', () => {
      const sent = (lane: string | undefined, headers?: Record<string, string>) =>
        withLane(lane, () => adapter.call(echo.url, headers)) as Promise<Echo>;

      it('writes x-mse-tag and one baggage lane entry', async () => {
        const { headers, rawHeaders } = await sent('gray');
        expect(headers['x-mse-tag']).toBe('gray');
        expect(baggageEntries(headers)).toEqual(['lane=gray']);
        expect(count(rawHeaders, 'x-mse-tag')).toBe(1);
        expect(count(rawHeaders, 'baggage')).toBe(1);
      });

      it('merges the lane into an existing baggage header, keeping other entries', async () => {
        const { headers, rawHeaders } = await sent('gray', { baggage: 'tenant=acme,lane=old' });
        expect(baggageEntries(headers).sort()).toEqual(['lane=gray', 'tenant=acme']);
        expect(count(rawHeaders, 'baggage')).toBe(1);
      });

      it('writes no lane carrier for the base lane, and removes stale ones', async () => {
        const { headers } = await sent(undefined, { 'x-mse-tag': 'stale', baggage: 'lane=stale,tenant=acme' });
        expect(headers['x-mse-tag']).toBeUndefined();
        expect(baggageEntries(headers)).toEqual(['tenant=acme']);
      });
    });

    describe('hop', () => {
      it.each([['gray'], ['base']])('carries the %s lane from inbound to outbound', async (lane) => {
        await expect(raw(hop.url, { 'x-mse-tag': lane })).resolves.toEqual({
          before: lane === 'base' ? null : lane,
          after: lane === 'base' ? null : lane,
          downstream: { lane: lane === 'base' ? null : lane },
        });
      });

      it(`keeps ${options.requests ?? 1000} interleaved requests in their own lanes`, async () => {
        const total = options.requests ?? 1000;
        const wrong: string[] = [];
        await pool(total, 100, async (i) => {
          const lane = LANES[i % LANES.length];
          const expected = lane ?? null;
          await withLane(lane, async () => {
            const result = (await adapter.call(hop.url)) as HopResult;
            const seen = [result.before, result.after, result.downstream.lane, getLane() ?? null];
            if (seen.some((value) => value !== expected)) wrong.push(`#${i} ${expected}: ${JSON.stringify(seen)}`);
          });
        });
        expect(wrong).toEqual([]);
      });
    });
  });
}

/** Listens on 127.0.0.1, port 0. */
export function listen(server: Server): Promise<ContractServer> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

/** GETs `url` with `headers` and resolves with the JSON body; rejects on a non-200 answer. */
export function getJson(url: string, headers: http.OutgoingHttpHeaders, agent?: http.Agent): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        if (res.statusCode === 200) resolve(JSON.parse(body));
        else reject(new Error(`GET ${url}: ${res.statusCode} ${body}`));
      });
    });
    request.on('error', reject);
  });
}

/** Answers 200 with `body` as JSON. */
export function sendJson(res: http.ServerResponse, body: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? null));
}

function baggageEntries(headers: IncomingHttpHeaders): string[] {
  return [headers['baggage'] ?? []].flat().join(',').split(',').map((entry) => entry.trim()).filter(Boolean);
}

function count(rawHeaders: string[], name: string): number {
  return rawHeaders.filter((value, i) => i % 2 === 0 && value.toLowerCase() === name).length;
}

/** Runs `task(0..total-1)` with at most `width` in flight, interleaving them. */
async function pool(total: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < total) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, total) }, worker));
}
