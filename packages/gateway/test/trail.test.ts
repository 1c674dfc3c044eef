import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { laneMetadata } from '@graylane/core';
import { TRAIL_HEADER, ensureContextManager } from '@graylane/context';
import { createRouter } from '@graylane/router';
import { createGateway } from '../src/index.js';
import type { Gateway, GatewayOptions } from '../src/index.js';

describe('gateway debug trail', () => {
  const router = createRouter(undefined);
  const upstream = http.createServer((_req, res) => {
    res.setHeader(TRAIL_HEADER, 'a[gray]@127.0.0.1:1 > b[base]@127.0.0.1:2');
    res.end('ok');
  });
  const gateways: Gateway[] = [];

  async function start(options: Partial<GatewayOptions>): Promise<string> {
    const gateway = createGateway({ router, upstream: 'a', trust: 'all', ...options });
    gateways.push(gateway);
    const { port } = await gateway.listen(0);
    return `127.0.0.1:${port}`;
  }

  async function trailOf(address: string): Promise<string | null> {
    const res = await fetch(`http://${address}/`);
    await res.text();
    return res.headers.get(TRAIL_HEADER);
  }

  beforeAll(async () => {
    ensureContextManager();
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const { port } = upstream.address() as AddressInfo;
    router.update('a', [{ id: `127.0.0.1:${port}`, service: 'a', host: '127.0.0.1', port, lane: undefined, weight: 1, healthy: true, enabled: true, metadata: laneMetadata(undefined) }]);
  });

  afterAll(async () => {
    await Promise.all(gateways.map((gateway) => gateway.close()));
    router.close();
    await new Promise((resolve) => upstream.close(resolve));
  });

  it("puts the gateway in front of the upstream's trail", async () => {
    const address = await start({ trail: { service: 'gateway' } });
    expect(await trailOf(address)).toBe(`gateway[base]@${address} > a[gray]@127.0.0.1:1 > b[base]@127.0.0.1:2`);
  });

  it("is off by default: the upstream's trail passes through unchanged", async () => {
    expect(await trailOf(await start({}))).toBe('a[gray]@127.0.0.1:1 > b[base]@127.0.0.1:2');
  });
});
