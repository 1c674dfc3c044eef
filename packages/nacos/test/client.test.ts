import { ErrorCode, GraylaneError } from '@graylane/core';
import { createNacosClient, createNacosConfig, createNacosRegistry, parseServerAddr } from '../src/index.js';
import { collectingLogger, freshPort, useRnacos } from './rnacos.js';

const nacos = useRnacos();

describe('options', () => {
  it('parses server lists, with gRPC on the HTTP port + 1000', () => {
    expect(parseServerAddr('127.0.0.1:8848, http://nacos.internal:8850/nacos')).toEqual([
      { host: '127.0.0.1', httpPort: 8848, grpcPort: 9848 },
      { host: 'nacos.internal', httpPort: 8850, grpcPort: 9850 },
    ]);
  });

  it.each(['', 'nacos', 'nacos:', 'nacos:70000', 'nacos:65000'])('rejects serverAddr %j at creation with CONFIG_INVALID', (serverAddr) => {
    expect(() => createNacosRegistry({ serverAddr })).toThrow(expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }));
  });

  it('rejects a username without a password', () => {
    expect(() => createNacosClient({ serverAddr: '127.0.0.1:8848', username: 'nacos' })).toThrow(GraylaneError);
  });
});

describe('connection errors', () => {
  it('fails a request with NACOS when no server answers, naming the address and the cause', async () => {
    const logger = collectingLogger();
    const config = createNacosConfig({ serverAddr: '127.0.0.1:1', timeoutMs: 1000, logger });
    const error = (await config.get('x').catch((e: unknown) => e)) as GraylaneError;
    await config.close();
    expect(error).toBeInstanceOf(GraylaneError);
    expect(error.code).toBe(ErrorCode.NACOS);
    expect(error.message).toContain('127.0.0.1:1');
    expect(logger.messages.join('\n')).toContain('cannot connect to Nacos at 127.0.0.1:1');
  });

  it('fails a request with NACOS_TIMEOUT when a server accepts TCP but never answers', async () => {
    const net = await import('node:net');
    const sockets = new Set<import('node:net').Socket>();
    const silent = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const grpcPort = (silent.address() as import('node:net').AddressInfo).port;
    const config = createNacosConfig({ serverAddr: `127.0.0.1:${grpcPort - 1000}`, timeoutMs: 300, logger: collectingLogger() });
    const error = (await config.get('x').catch((e: unknown) => e)) as GraylaneError;
    await config.close();
    for (const socket of sockets) socket.destroy();
    silent.close();
    expect(error.code).toBe(ErrorCode.NACOS_TIMEOUT);
  });

  it('rejects with CLOSED after close, and close is idempotent', async () => {
    const client = createNacosClient({ serverAddr: nacos.serverAddr });
    await expect(client.config.get('anything')).resolves.toBeUndefined();
    await client.close();
    await client.close();
    await expect(client.config.get('anything')).rejects.toMatchObject({ code: ErrorCode.CLOSED });
    await expect(client.naming.registerInstance({ serviceName: 's', ip: '127.0.0.1', port: freshPort() })).rejects.toMatchObject({
      code: ErrorCode.CLOSED,
    });
  });

  it('rotates to the next server when the first one is down', async () => {
    const logger = collectingLogger();
    const config = createNacosConfig({ serverAddr: `127.0.0.1:1,${nacos.serverAddr}`, logger });
    await expect(config.get('rotation')).resolves.toBeUndefined();
    await config.close();
    expect(logger.messages.join('\n')).toContain('127.0.0.1:1');
  });

  it.each([
    { serviceName: '', ip: '127.0.0.1', port: 8080 },
    { serviceName: 's', ip: '', port: 8080 },
    { serviceName: 's', ip: '127.0.0.1', port: 0 },
    { serviceName: 's', ip: '127.0.0.1', port: 8080, weight: Number.NaN },
    { serviceName: 's', ip: '127.0.0.1', port: 8080, metadata: { lane: 1 as unknown as string } },
  ])('rejects an invalid registration %j with REGISTRY before sending it', async (registration) => {
    const client = createNacosClient({ serverAddr: nacos.serverAddr });
    await expect(client.naming.registerInstance(registration)).rejects.toMatchObject({ code: ErrorCode.REGISTRY });
    await client.close();
  });
});
