// Namespace semantics as the official Java client has them, on every test server: with no
// namespace set, naming is in `public` (where Java services and the console look) and config in
// tenant ''. Regression: graylane used to send '' for naming, which the Java server files as a
// namespace of its own, splitting a fleet in two without an error.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode } from '@graylane/core';
import type { Instance } from '@graylane/core';
import { createNacosConfig, createNacosRegistry, DEFAULT_NAMESPACE } from '../src/index.js';
import { resolveOptions } from '../src/options.js';
import { checkNamespace } from '../src/transport/namespace.js';
import { Inbox, collectingLogger, freshPort } from './rnacos.js';
import { nacosServers, useNacosServer } from './servers.js';

describe('namespace defaults', () => {
  it('naming in public and config in tenant "" when no namespace is set, as the Java client does', () => {
    expect(DEFAULT_NAMESPACE).toBe('public');
    for (const namespace of [undefined, '']) {
      const options = resolveOptions({ serverAddr: '127.0.0.1:8848', namespace });
      expect([options.namespace, options.tenant]).toEqual(['public', '']);
    }
  });

  it('a namespace that is set is used as given for both', () => {
    expect(resolveOptions({ serverAddr: '127.0.0.1:8848', namespace: 'dev' })).toMatchObject({ namespace: 'dev', tenant: 'dev' });
    expect(resolveOptions({ serverAddr: '127.0.0.1:8848', namespace: 'public' })).toMatchObject({ namespace: 'public', tenant: 'public' });
  });
});

/** Creates a namespace over the server's HTTP API (auth off): Nacos 3's admin API, r-nacos' console API. */
async function createNamespace(serverAddr: string, kind: string, id: string): Promise<void> {
  const [path, form] =
    kind === 'java'
      ? ['/nacos/v3/admin/core/namespace', { namespaceId: id, namespaceName: id }]
      : ['/nacos/v1/console/namespaces', { customNamespaceId: id, namespaceName: id }];
  const response = await fetch(`http://${serverAddr}${path}`, { method: 'POST', body: new URLSearchParams(form) });
  if (!response.ok) throw new Error(`creating namespace ${id} on ${serverAddr}: HTTP ${response.status} ${await response.text()}`);
}

describe.each(nacosServers)('namespaces, on %s', (_label, kind) => {
  const nacos = useNacosServer(kind);

  it('an instance registered with no namespace set is seen by a subscriber that sets public explicitly', async () => {
    const options = { serverAddr: nacos.serverAddr, clientIp: '127.0.0.1', cacheDir: false } as const;
    const registrant = createNacosRegistry({ ...options, logger: collectingLogger() });
    const subscriber = createNacosRegistry({ ...options, namespace: 'public', logger: collectingLogger() });
    const service = `ns-explicit-public-${process.pid}-${Date.now().toString(36)}`;
    const port = freshPort();
    const seen = new Inbox<readonly Instance[]>();
    try {
      subscriber.subscribe(service, seen.push);
      await registrant.register({ service, host: '127.0.0.1', port, lane: 'gray' });
      const [instance] = await seen.until((hosts) => hosts.length === 1, 5000, 'the instance registered in the default namespace');
      expect(instance).toMatchObject({ port, lane: 'gray' });
    } finally {
      await Promise.all([registrant.close(), subscriber.close()]);
    }
  });

  it('a namespace the server does not have fails start-up with CONFIG_INVALID naming it, for naming and config', async () => {
    const namespace = `no-such-namespace-${process.pid}`;
    const logger = collectingLogger();
    const options = { serverAddr: nacos.serverAddr, namespace, clientIp: '127.0.0.1', cacheDir: false, logger } as const;
    const registry = createNacosRegistry(options);
    const config = createNacosConfig(options);
    try {
      const started = Date.now();
      const error = await registry.register({ service: 'ns-missing', host: '127.0.0.1', port: freshPort(), lane: 'gray' }).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(error).toMatchObject({
        code: ErrorCode.CONFIG_INVALID,
        message: expect.stringMatching(new RegExp(`^Nacos namespace "${namespace}" does not exist on ${nacos.serverAddr} \\(its namespaces: public\\); create it`)),
        details: { path: 'namespace', namespace, server: nacos.serverAddr, namespaces: ['public'] },
      });
      await expect(config.get('anything.yaml')).rejects.toMatchObject({ code: ErrorCode.CONFIG_INVALID, details: { namespace } });
    } finally {
      await Promise.all([registry.close(), config.close()]);
    }
  });

  it('a namespace that exists passes the check; its instances are apart from public', async () => {
    const namespace = `ns-dev-${process.pid}-${Date.now().toString(36)}`;
    await createNamespace(nacos.serverAddr, kind, namespace);
    const options = { serverAddr: nacos.serverAddr, clientIp: '127.0.0.1', cacheDir: false } as const;
    const registrant = createNacosRegistry({ ...options, namespace, logger: collectingLogger() });
    const inNamespace = createNacosRegistry({ ...options, namespace, logger: collectingLogger() });
    const inPublic = createNacosRegistry({ ...options, logger: collectingLogger() });
    const service = `ns-dev-${process.pid}`;
    const port = freshPort();
    const seen = new Inbox<readonly Instance[]>();
    const seenInPublic = new Inbox<readonly Instance[]>();
    try {
      inNamespace.subscribe(service, seen.push);
      inPublic.subscribe(service, seenInPublic.push);
      await registrant.register({ service, host: '127.0.0.1', port, lane: 'gray' });
      await seen.until((hosts) => hosts.length === 1 && hosts[0]!.port === port, 5000, `the instance in namespace ${namespace}`);
      await new Promise((resolve) => setTimeout(resolve, 1000)); // a push to public would have come by now
      expect(seenInPublic.items.every((hosts) => hosts.length === 0)).toBe(true);
    } finally {
      await Promise.all([registrant.close(), inNamespace.close(), inPublic.close()]);
    }
  });

  it('an instance graylane registers is listed by the server in public, with its lane metadata', async () => {
    const registry = createNacosRegistry({ serverAddr: nacos.serverAddr, clientIp: '127.0.0.1', logger: collectingLogger() });
    const service = `ns-default-${process.pid}-${Date.now().toString(36)}`;
    const port = freshPort();
    try {
      await registry.register({ service, host: '127.0.0.1', port, lane: 'gray' });
      const url = `http://${nacos.serverAddr}/nacos/v1/ns/instance/list?serviceName=${service}&namespaceId=public`;
      let hosts: Array<{ port: number; metadata: Record<string, string> }> = [];
      for (let i = 0; i < 50 && hosts.length === 0; i++) {
        hosts = ((await (await fetch(url)).json()) as { hosts: typeof hosts }).hosts;
        if (hosts.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(hosts.map((host) => [host.port, host.metadata['alicloud.service.tag']])).toEqual([[port, 'gray']]);
    } finally {
      await registry.close();
    }
  });

  it('a config graylane publishes lands in the public namespace', async () => {
    const config = createNacosConfig({ serverAddr: nacos.serverAddr, logger: collectingLogger() });
    const dataId = `ns-default-${process.pid}-${Date.now().toString(36)}.yaml`;
    try {
      await config.publish(dataId, 'lanes: []\n');
      if (kind === 'java') {
        // Nacos 3's admin API; its legacy v1 config API does not find tenant '' or public here.
        const url = `http://${nacos.serverAddr}/nacos/v3/admin/cs/config?dataId=${dataId}&groupName=DEFAULT_GROUP&namespaceId=public`;
        const body = (await (await fetch(url)).json()) as { data: { namespaceId: string; content: string } | null };
        expect([body.data?.namespaceId, body.data?.content]).toEqual(['public', 'lanes: []\n']);
      } else {
        const response = await fetch(`http://${nacos.serverAddr}/nacos/v1/cs/configs?dataId=${dataId}&group=DEFAULT_GROUP&tenant=public`);
        expect([response.status, await response.text()]).toEqual([200, 'lanes: []\n']);
      }
    } finally {
      await config.remove(dataId).catch(() => undefined);
      await config.close();
    }
  });
});

describe('the namespace check', () => {
  /** A fake Nacos HTTP API: `answers` maps a path to [status, body]; anything else is 404. */
  async function fakeServer(answers: Record<string, [number, unknown]>) {
    const seen: string[] = [];
    const server = createServer((request, response) => {
      const path = (request.url ?? '').replace(/\?.*$/, '');
      seen.push(`${path} ${String(request.headers['accesstoken'] ?? '')}`);
      const [status, body] = answers[path] ?? [404, { status: 404 }];
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    return { seen, port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }
  const server = (port: number) => ({ host: '127.0.0.1', httpPort: port, grpcPort: port + 1000 });
  const v1List = { code: 200, data: [{ namespace: '', namespaceShowName: 'public' }, { namespace: '7f3c', namespaceShowName: 'dev' }] };

  it('is not made for public', async () => {
    const logger = collectingLogger();
    await expect(checkNamespace(resolveOptions({ serverAddr: '127.0.0.1:1', logger }), server(1), undefined)).resolves.toBeUndefined();
    expect(logger.messages).toEqual([]);
  });

  it("reads Nacos 2.x's and r-nacos' console list when Nacos 3's admin list is absent, with the token", async () => {
    const fake = await fakeServer({ '/nacos/v1/console/namespaces': [200, v1List] });
    try {
      const options = resolveOptions({ serverAddr: `127.0.0.1:${fake.port}`, namespace: '7f3c', logger: collectingLogger() });
      await expect(checkNamespace(options, server(fake.port), 'tok')).resolves.toBeUndefined();
      expect(fake.seen).toEqual(['/nacos/v3/admin/core/namespace/list tok', '/nacos/v1/console/namespaces tok']);
    } finally {
      await fake.close();
    }
  });

  it('names the id when the namespace was given by its name', async () => {
    const fake = await fakeServer({ '/nacos/v3/admin/core/namespace/list': [200, { code: 0, data: [{ namespace: 'public' }, { namespace: '7f3c', namespaceShowName: 'dev' }] }] });
    try {
      const options = resolveOptions({ serverAddr: `127.0.0.1:${fake.port}`, namespace: 'dev', logger: collectingLogger() });
      await expect(checkNamespace(options, server(fake.port), undefined)).rejects.toMatchObject({
        code: ErrorCode.CONFIG_INVALID,
        message: expect.stringMatching(/"dev" is the name of the namespace whose id is "7f3c": set the id/),
      });
    } finally {
      await fake.close();
    }
  });

  it('warns and goes on when the list may not be read (403) or is not served (404)', async () => {
    const fake = await fakeServer({ '/nacos/v3/admin/core/namespace/list': [403, { status: 403 }] });
    try {
      const logger = collectingLogger();
      const options = resolveOptions({ serverAddr: `127.0.0.1:${fake.port}`, namespace: 'dev', logger });
      await expect(checkNamespace(options, server(fake.port), undefined)).resolves.toBeUndefined();
      expect(logger.messages).toEqual([
        `graylane: cannot check that Nacos namespace "dev" exists on 127.0.0.1:${fake.port} (/nacos/v3/admin/core/namespace/list: HTTP 403; /nacos/v1/console/namespaces: HTTP 404); going on without the check`,
      ]);
      // Once per client: naming and config do not ask again.
      await checkNamespace(options, server(fake.port), undefined);
      expect(logger.messages).toHaveLength(1);
    } finally {
      await fake.close();
    }
  });
});
