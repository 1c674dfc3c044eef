// Nacos 3 authentication against the Java Nacos server with auth on (admin, client API and
// console), as graylane's users run it: login, the token on every request, wrong or missing
// credentials as one NACOS_AUTH error, and a new login after the server restarts.
import { ErrorCode } from '@graylane/core';
import type { Instance } from '@graylane/core';
import { createNacosConfig, createNacosRegistry } from '../src/index.js';
import type { NacosClientOptions } from '../src/index.js';
import { Inbox, collectingLogger, freshPort } from './rnacos.js';
import { useNacosServer } from './servers.js';

const USER = 'nacos'; // Nacos 3's admin
const PASSWORD = 'graylane-test-password';

describe('username/password auth on the Java Nacos server', () => {
  const nacos = useNacosServer('java', { auth: { username: USER, password: PASSWORD } });
  const options = (extra: Partial<NacosClientOptions> = {}): NacosClientOptions => ({
    serverAddr: nacos.serverAddr,
    username: USER,
    password: PASSWORD,
    clientIp: '127.0.0.1',
    cacheDir: false,
    logger: collectingLogger(),
    ...extra,
  });

  it('logs in, then registers, subscribes, publishes and reads with the token', async () => {
    const config = createNacosConfig(options());
    const registrant = createNacosRegistry(options());
    const subscriber = createNacosRegistry(options());
    const service = `java-auth-${process.pid}`;
    const port = freshPort();
    try {
      await config.publish('java-auth.yaml', 'lanes: []\n');
      // The Java server serves a published config a moment later (under 0.5 s here), not at once.
      let content: string | undefined;
      for (let i = 0; i < 50 && content === undefined; i++) {
        content = await config.get('java-auth.yaml');
        if (content === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(content).toBe('lanes: []\n');
      await registrant.register({ service, host: '127.0.0.1', port, lane: 'gray' });
      const seen = new Inbox<readonly Instance[]>();
      subscriber.subscribe(service, seen.push);
      const [instance] = await seen.until((hosts) => hosts.length === 1, 5_000, 'the registered instance');
      expect([instance!.port, instance!.lane]).toEqual([port, 'gray']);
    } finally {
      await Promise.all([config.close(), registrant.close(), subscriber.close()]);
    }
  });

  it.each([
    ['a wrong password', { password: 'wrong' }, /refused the login of user "nacos"/],
    ['an unknown user', { username: 'nobody' }, /refused the login of user "nobody"/],
  ])('%s is one NACOS_AUTH error naming the server', async (_case, extra, message) => {
    const config = createNacosConfig(options(extra));
    try {
      const error = await config.get('java-auth.yaml').catch((e: unknown) => e);
      expect(error).toMatchObject({ code: ErrorCode.NACOS_AUTH, message: expect.stringMatching(message) });
      expect((error as Error).message).toContain(nacos.serverAddr);
    } finally {
      await config.close();
    }
  });

  it('without credentials, requests fail with NACOS_AUTH saying to set them', async () => {
    const config = createNacosConfig(options({ username: undefined, password: undefined }));
    try {
      await expect(config.get('java-auth.yaml')).rejects.toMatchObject({ code: ErrorCode.NACOS_AUTH, message: expect.stringMatching(/set username and password/) });
    } finally {
      await config.close();
    }
  });

  // Regression: a restarted Java server refuses logins for a few seconds; graylane took that for
  // wrong credentials and stopped reconnecting, so its registrations never came back.
  it('logs in again after the server restarts, and the registration comes back', async () => {
    const registrant = createNacosRegistry(options());
    const service = `java-auth-restart-${process.pid}`;
    const port = freshPort();
    try {
      await registrant.register({ service, host: '127.0.0.1', port });
      await nacos.node.restart();
      // A client that subscribes after the restart sees only what the restarted server knows.
      const late = createNacosRegistry(options());
      try {
        const seen = new Inbox<readonly Instance[]>();
        late.subscribe(service, seen.push);
        await seen.until((hosts) => hosts.some((host) => host.port === port), 30_000, 'the instance registered again after the restart');
      } finally {
        await late.close();
      }
    } finally {
      await registrant.close();
    }
  }, 120_000);
});
