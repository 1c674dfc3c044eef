// The Nacos variables are read as applications read them (nacosOptionsFromEnv of @graylane/node),
// TLS included: invalid combinations fail before any connection, with the variables named.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, graylane } from './graylane.js';

const SERVER = { NACOS_SERVER_ADDR: '127.0.0.1:1' };

describe('Nacos TLS from the environment', () => {
  it('rules publish refuses a client certificate without its key (exit 1, nothing sent)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'graylane-cli-tls-'));
    writeFileSync(join(dir, 'client.pem'), '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
    const result = await graylane(['rules', 'publish', fixture('native.yaml'), '--data-id', 'x'], {
      env: { ...SERVER, NACOS_TLS: 'true', NACOS_TLS_CERT: join(dir, 'client.pem') },
    });
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toMatch(/^graylane: GRAYLANE_ERR_CONFIG_INVALID: NACOS_TLS_CERT and NACOS_TLS_KEY must be set together/);
  });

  it('lanes refuses TLS settings without NACOS_TLS=true', async () => {
    const result = await graylane(['lanes', '--service', 'orders'], { env: { ...SERVER, NACOS_TLS_SERVERNAME: 'nacos.internal' } });
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toMatch(/^graylane: GRAYLANE_ERR_CONFIG_INVALID: NACOS_TLS_SERVERNAME set without NACOS_TLS=true/);
  });

  it('reads PEM paths relative to the working directory, naming an unreadable one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'graylane-cli-tls-'));
    const result = await graylane(['lanes', '--service', 'orders'], { env: { ...SERVER, NACOS_TLS: '1', NACOS_TLS_CA: 'missing-ca.pem' }, cwd: dir });
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toMatch(/^graylane: GRAYLANE_ERR_CONFIG_INVALID: NACOS_TLS_CA: cannot read the PEM file missing-ca\.pem \(ENOENT.*missing-ca\.pem/);
    expect(result.stderr).toContain(join(dir, 'missing-ca.pem'));
  });
});
