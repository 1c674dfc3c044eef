import { ErrorCode, isGraylaneError } from '@graylane/core';
import type { Instance } from '@graylane/core';
import { createNacosConfig, createNacosRegistry } from '../src/index.js';
import type { NacosClientOptions } from '../src/index.js';
import { Inbox, collectingLogger, freshPort, useRnacos } from './rnacos.js';
import { createTestPki, startTlsFront } from './tls-proxy.js';
import type { TestPki } from './tls-proxy.js';

// Auth on, so that the login (HTTP) goes over TLS too and must trust the same CA as gRPC.
const nacos = useRnacos({
  RNACOS_ENABLE_OPEN_API_AUTH: 'true',
  RNACOS_INIT_ADMIN_USERNAME: 'graylane',
  RNACOS_INIT_ADMIN_PASSWORD: 'graylane-tls-password',
});
const credentials = { username: 'graylane', password: 'graylane-tls-password' } as const;

let pki: TestPki;
let front: { serverAddr: string; close(): Promise<void> };
const closables: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  pki = createTestPki();
  front = await startTlsFront(pki, nacos.node);
});

afterEach(async () => {
  await Promise.all(closables.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await front?.close();
});

function options(extra: Partial<NacosClientOptions> = {}): NacosClientOptions {
  return { serverAddr: front.serverAddr, ...credentials, clientIp: '127.0.0.1', logger: collectingLogger(), cacheDir: false, ...extra };
}

describe('TLS', () => {
  it('registers and subscribes over TLS, logging in over https, with a private CA', async () => {
    const service = `tls-${process.pid}`;
    const port = freshPort();
    const registrant = createNacosRegistry(options({ tls: { ca: pki.ca } }));
    const subscriber = createNacosRegistry(options({ tls: { ca: pki.ca.toString('utf8') } }));
    closables.push(registrant, subscriber);
    const seen = new Inbox<readonly Instance[]>();
    subscriber.subscribe(service, seen.push);
    await registrant.register({ service, host: '127.0.0.1', port, lane: 'gray' });
    const [instance] = await seen.until((list) => list.length === 1, 5000, 'the instance registered over TLS');
    expect(instance).toMatchObject({ port, lane: 'gray' });
  });

  it('checks the certificate against servername when one is set', async () => {
    const good = createNacosConfig(options({ tls: { ca: pki.ca, servername: 'localhost' } }));
    closables.push(good);
    await good.publish(`tls-${process.pid}.yaml`, 'over: tls');
    await expect(good.get(`tls-${process.pid}.yaml`)).resolves.toBe('over: tls');

    const wrongName = createNacosConfig(options({ tls: { ca: pki.ca, servername: 'nacos.example.com' }, timeoutMs: 1500 }));
    closables.push(wrongName);
    const error = await wrongName.get(`tls-${process.pid}.yaml`).catch((e: unknown) => e);
    expect(isGraylaneError(error) && error.code).toBe(ErrorCode.NACOS);
    expect((error as Error).message).toMatch(/TLS handshake .* failed .*nacos\.example\.com.*check the tls option/s);
  });

  it('fails with a typed NACOS error naming TLS, within timeoutMs, when the CA did not sign the server certificate', async () => {
    const config = createNacosConfig(options({ tls: { ca: pki.otherCa }, timeoutMs: 1500 }));
    closables.push(config);
    const started = Date.now();
    const error = await config.get('anything.yaml').catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(isGraylaneError(error) && error.code).toBe(ErrorCode.NACOS);
    expect((error as Error).message).toMatch(/cannot reach Nacos \(config\).*TLS handshake with Nacos at 127\.0\.0\.1:\d+ \(gRPC\) failed \(.*certificate.*\); check the tls option/s);
  });

  it('fails the same way with tls: true (system roots) against a private CA', async () => {
    const config = createNacosConfig(options({ tls: true, timeoutMs: 1500 }));
    closables.push(config);
    await expect(config.get('anything.yaml')).rejects.toMatchObject({ code: ErrorCode.NACOS, message: expect.stringMatching(/TLS handshake/) });
  });

  it('rejectUnauthorized: false accepts any certificate', async () => {
    const config = createNacosConfig(options({ tls: { rejectUnauthorized: false } }));
    closables.push(config);
    await expect(config.get(`missing-${process.pid}.yaml`)).resolves.toBeUndefined();
  });

  it('without tls, a plain-text client does not get through a TLS port', async () => {
    const config = createNacosConfig(options({ timeoutMs: 1500 }));
    closables.push(config);
    await expect(config.get('anything.yaml')).rejects.toMatchObject({ code: expect.stringMatching(/NACOS/) });
  });
});

describe('tls options', () => {
  it('rejects cert without key, and an unreadable ca path, at creation', () => {
    expect(() => createNacosConfig({ serverAddr: '127.0.0.1:8848', tls: { cert: 'x' } })).toThrow(
      expect.objectContaining({ code: ErrorCode.CONFIG_INVALID, message: expect.stringMatching(/tls\.cert and tls\.key go together/) }),
    );
    expect(() => createNacosConfig({ serverAddr: '127.0.0.1:8848', tls: { ca: '/nonexistent/ca.pem' } })).toThrow(
      expect.objectContaining({ code: ErrorCode.CONFIG_INVALID, message: expect.stringMatching(/tls\.ca is neither PEM text nor a readable file/) }),
    );
  });
});
