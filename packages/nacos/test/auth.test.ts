import { ErrorCode } from '@graylane/core';
import type { Instance } from '@graylane/core';
import { createNacosConfig, createNacosRegistry } from '../src/index.js';
import type { NacosClientOptions } from '../src/index.js';
import { startLoginFront } from './login-front.js';
import type { LoginFront } from './login-front.js';
import { Inbox, collectingLogger, freshPort, useRnacos } from './rnacos.js';

const USER = 'graylane';
const PASSWORD = 'graylane-test-password';

describe('username/password auth', () => {
  const nacos = useRnacos({
    RNACOS_ENABLE_OPEN_API_AUTH: 'true',
    RNACOS_INIT_ADMIN_USERNAME: USER,
    RNACOS_INIT_ADMIN_PASSWORD: PASSWORD,
  });

  it('logs in and sends the access token with every request', async () => {
    const config = createNacosConfig({ serverAddr: nacos.serverAddr, username: USER, password: PASSWORD, logger: collectingLogger() });
    await config.publish('auth.yaml', 'secret: false');
    await expect(config.get('auth.yaml')).resolves.toBe('secret: false');
    await config.close();
  });

  it('fails with NACOS_AUTH, saying credentials are needed, without credentials', async () => {
    const config = createNacosConfig({ serverAddr: nacos.serverAddr, logger: collectingLogger() });
    await expect(config.get('auth.yaml')).rejects.toMatchObject({ code: ErrorCode.NACOS_AUTH, message: expect.stringMatching(/set username and password/) });
    await config.close();
  });

  it('a wrong password is one NACOS_AUTH error at start-up, naming the server and the user, without retrying', async () => {
    const logger = collectingLogger();
    const options: NacosClientOptions = { serverAddr: nacos.serverAddr, username: USER, password: 'wrong', logger, cacheDir: false };
    const config = createNacosConfig(options);
    const registry = createNacosRegistry(options);
    try {
      const started = Date.now();
      const error = await config.get('auth.yaml').catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(1500); // not the 3 s request timeout: no retrying
      expect(error).toMatchObject({
        code: ErrorCode.NACOS_AUTH,
        message: `Nacos at ${nacos.serverAddr} refused the login of user "graylane" (HTTP 403: unknown user!); check username and password`,
        details: { server: nacos.serverAddr, username: USER, status: 403 },
      });
      // The next call tries once more (the password may have been fixed on the server) and fails the same way.
      await expect(config.get('auth.yaml')).rejects.toMatchObject({ code: ErrorCode.NACOS_AUTH });
      await expect(registry.register({ service: 'auth-wrong', host: '127.0.0.1', port: freshPort(), lane: 'gray' })).rejects.toMatchObject({
        code: ErrorCode.NACOS_AUTH,
        message: expect.stringContaining(nacos.serverAddr),
      });
      // Logged once per connection (config, naming), not on every try.
      expect(logger.messages.filter((m) => m.includes('refused the login'))).toHaveLength(2);
    } finally {
      await Promise.all([config.close(), registry.close()]);
    }
  });

  it('logs in again when the server refuses a token, and retries the request', async () => {
    const front = await startLoginFront(nacos.node);
    front.bogusLogins = 1; // the login on connecting gets a token r-nacos never gave
    const logger = collectingLogger();
    const config = createNacosConfig({ serverAddr: front.serverAddr, username: USER, password: PASSWORD, logger, cacheDir: false });
    try {
      await config.publish('auth-relogin.yaml', 'relogin: true');
      await expect(config.get('auth-relogin.yaml')).resolves.toBe('relogin: true');
      expect(front.logins).toHaveLength(2);
      expect(logger.messages).toEqual([]);
    } finally {
      await config.close();
      await front.close();
    }
  });

  it('logs in again after the server restarts (r-nacos forgets its tokens), and registrations come back', async () => {
    const front = await startLoginFront(nacos.node);
    const options: NacosClientOptions = { serverAddr: front.serverAddr, username: USER, password: PASSWORD, clientIp: '127.0.0.1', cacheDir: false };
    const registrant = createNacosRegistry({ ...options, logger: collectingLogger() });
    const subscriber = createNacosRegistry({ ...options, logger: collectingLogger() });
    const service = `auth-restart-${process.pid}`;
    const port = freshPort();
    const seen = new Inbox<readonly Instance[]>();
    try {
      await registrant.register({ service, host: '127.0.0.1', port, lane: 'gray' });
      subscriber.subscribe(service, seen.push);
      await seen.until((hosts) => hosts.length === 1, 5000, 'the instance before the restart');
      const before = front.logins.length;
      await nacos.node.restart();
      // Whether the old subscriber sees the emptied list depends on who reconnects first, so the
      // test asks only what must hold: both clients log in again, and a client that subscribes
      // after the restart (to a server that forgot everything) finds the instance registered again.
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline && front.logins.length < before + 2) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(front.logins.length).toBeGreaterThanOrEqual(before + 2); // both clients logged in again
      const late = createNacosRegistry({ ...options, logger: collectingLogger() });
      try {
        const after = new Inbox<readonly Instance[]>();
        late.subscribe(service, after.push);
        await after.until((hosts) => hosts.length === 1 && hosts[0]!.port === port, 15000, 'the instance registered again after the restart');
      } finally {
        await late.close();
      }
    } finally {
      await Promise.all([registrant.close(), subscriber.close()]);
      await front.close();
    }
  }, 45_000);
});

describe('token refresh', () => {
  const TTL_S = 2;
  const nacos = useRnacos({
    RNACOS_ENABLE_OPEN_API_AUTH: 'true',
    RNACOS_INIT_ADMIN_USERNAME: USER,
    RNACOS_INIT_ADMIN_PASSWORD: PASSWORD,
    RNACOS_API_LOGIN_TIMEOUT: String(TTL_S), // tokenTtl of the login answer, in seconds
  });
  let front: LoginFront;
  beforeAll(async () => {
    front = await startLoginFront(nacos.node);
  });
  afterAll(async () => {
    await front?.close();
  });

  it('refreshes the token at 90 % of tokenTtl, before it expires, so no request is refused', async () => {
    const logger = collectingLogger();
    const config = createNacosConfig({ serverAddr: front.serverAddr, username: USER, password: PASSWORD, logger, cacheDir: false });
    try {
      await config.publish('refresh.yaml', 'fresh: true');
      const first = front.logins.length;
      const started = Date.now();
      // Idle gaps longer than the token's lifetime, with requests in between.
      while (Date.now() - started < TTL_S * 3 * 1000) {
        await expect(config.get('refresh.yaml')).resolves.toBe('fresh: true');
        await new Promise((resolve) => setTimeout(resolve, 700));
      }
      const logins = front.logins.slice(first - 1).map((login) => login.at);
      // One login on connecting, then one every 0.9 × 2 s = 1.8 s; none provoked by a refused token
      // (that would show as two logins close together).
      expect(logins.length).toBeGreaterThanOrEqual(4);
      const gaps = logins.slice(1).map((at, i) => at - logins[i]!);
      for (const gap of gaps) expect(gap).toBeGreaterThan(1500);
      for (const gap of gaps) expect(gap).toBeLessThan(TTL_S * 1000);
      expect(logger.messages).toEqual([]);
    } finally {
      await config.close();
    }
  }, 20_000);
});
