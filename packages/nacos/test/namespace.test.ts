// Namespace semantics as the official Java client has them, on every test server: with no
// namespace set, naming is in `public` (where Java services and the console look) and config in
// tenant ''. Regression: graylane used to send '' for naming, which the Java server files as a
// namespace of its own, splitting a fleet in two without an error.
import { createNacosConfig, createNacosRegistry, DEFAULT_NAMESPACE } from '../src/index.js';
import { resolveOptions } from '../src/options.js';
import { collectingLogger, freshPort } from './rnacos.js';
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

describe.each(nacosServers)('with no namespace set, on %s', (_label, kind) => {
  const nacos = useNacosServer(kind);

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
