import { ErrorCode } from '@graylane/core';
import { createNacosConfig } from '../src/index.js';
import { collectingLogger, useRnacos } from './rnacos.js';

const nacos = useRnacos({
  RNACOS_ENABLE_OPEN_API_AUTH: 'true',
  RNACOS_INIT_ADMIN_USERNAME: 'graylane',
  RNACOS_INIT_ADMIN_PASSWORD: 'graylane-test-password',
});

describe('username/password auth', () => {
  it('logs in and sends the access token with every request', async () => {
    const config = createNacosConfig({
      serverAddr: nacos.serverAddr,
      username: 'graylane',
      password: 'graylane-test-password',
      logger: collectingLogger(),
    });
    await config.publish('auth.yaml', 'secret: false');
    await expect(config.get('auth.yaml')).resolves.toBe('secret: false');
    await config.close();
  });

  it('fails with NACOS_AUTH without credentials', async () => {
    const config = createNacosConfig({ serverAddr: nacos.serverAddr, logger: collectingLogger() });
    await expect(config.get('auth.yaml')).rejects.toMatchObject({ code: ErrorCode.NACOS_AUTH });
    await config.close();
  });

  it('fails with NACOS_AUTH on a wrong password', async () => {
    const config = createNacosConfig({ serverAddr: nacos.serverAddr, username: 'graylane', password: 'wrong', logger: collectingLogger() });
    await expect(config.get('auth.yaml')).rejects.toMatchObject({ code: ErrorCode.NACOS_AUTH });
    await config.close();
  });
});
