// The Nacos connection the environment names (nacosOptionsFromEnv, shared by registryFromEnv,
// rulesFromEnv and the graylane CLI), TLS included.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '@graylane/core';
import { nacosOptionsFromEnv, registryFromEnv, rulesFromEnv } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'graylane-nacos-env-'));
// Stand-ins: the options carry the files' bytes; the gRPC client parses them only when it connects.
const CA = '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n';
const CERT = '-----BEGIN CERTIFICATE-----\nclient\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n';
writeFileSync(join(dir, 'ca.pem'), CA);
writeFileSync(join(dir, 'client.pem'), CERT);
writeFileSync(join(dir, 'client.key'), KEY);

const SERVER = { NACOS_SERVER_ADDR: '127.0.0.1:1' };
const configInvalid = (variables: readonly string[], message?: RegExp) =>
  expect.objectContaining({
    code: ErrorCode.CONFIG_INVALID,
    details: { variables },
    ...(message ? { message: expect.stringMatching(message) } : {}),
  });

describe('nacosOptionsFromEnv', () => {
  test('undefined without NACOS_SERVER_ADDR; server, namespace, group and credentials otherwise, TLS off by default', () => {
    expect(nacosOptionsFromEnv({ NACOS_TLS: 'true' })).toBeUndefined();
    expect(nacosOptionsFromEnv({ NACOS_SERVER_ADDR: ' 10.0.0.1:8848 ', NACOS_NAMESPACE: 'dev', NACOS_GROUP: 'G', NACOS_USERNAME: 'u', NACOS_PASSWORD: 'p' })).toEqual({
      serverAddr: '10.0.0.1:8848',
      namespace: 'dev',
      group: 'G',
      username: 'u',
      password: 'p',
    });
    expect(nacosOptionsFromEnv({ ...SERVER, NACOS_TLS: 'false' })).toEqual({ serverAddr: '127.0.0.1:1' });
    expect(nacosOptionsFromEnv({ ...SERVER, NACOS_TLS: '0', NACOS_TLS_CA: '' })).toEqual({ serverAddr: '127.0.0.1:1' });
  });

  test.each(['true', '1', 'TRUE', ' true '])('NACOS_TLS=%j alone turns TLS on with the system roots', (flag) => {
    expect(nacosOptionsFromEnv({ ...SERVER, NACOS_TLS: flag })).toEqual({ serverAddr: '127.0.0.1:1', tls: true });
  });

  test('NACOS_TLS_CA, NACOS_TLS_SERVERNAME, NACOS_TLS_CERT and NACOS_TLS_KEY map to the tls option, files read', () => {
    const options = nacosOptionsFromEnv({
      ...SERVER,
      NACOS_TLS: '1',
      NACOS_TLS_CA: join(dir, 'ca.pem'),
      NACOS_TLS_SERVERNAME: 'nacos.internal',
      NACOS_TLS_CERT: join(dir, 'client.pem'),
      NACOS_TLS_KEY: join(dir, 'client.key'),
    });
    expect(options).toEqual({
      serverAddr: '127.0.0.1:1',
      tls: { ca: Buffer.from(CA), cert: Buffer.from(CERT), key: Buffer.from(KEY), servername: 'nacos.internal' },
    });
  });

  test('relative file paths are resolved from the cwd option', () => {
    expect(nacosOptionsFromEnv({ ...SERVER, NACOS_TLS: 'true', NACOS_TLS_CA: 'ca.pem' }, { cwd: dir })).toEqual({
      serverAddr: '127.0.0.1:1',
      tls: { ca: Buffer.from(CA) },
    });
  });

  test('a client certificate needs its key, and the other way round', () => {
    expect(() => nacosOptionsFromEnv({ ...SERVER, NACOS_TLS: 'true', NACOS_TLS_CERT: join(dir, 'client.pem') })).toThrow(
      configInvalid(['NACOS_TLS_CERT', 'NACOS_TLS_KEY'], /NACOS_TLS_CERT and NACOS_TLS_KEY must be set together/),
    );
    expect(() => nacosOptionsFromEnv({ ...SERVER, NACOS_TLS: 'true', NACOS_TLS_KEY: join(dir, 'client.key') })).toThrow(
      configInvalid(['NACOS_TLS_CERT', 'NACOS_TLS_KEY']),
    );
  });

  test('TLS settings without NACOS_TLS fail instead of connecting in plain text', () => {
    expect(() => nacosOptionsFromEnv({ ...SERVER, NACOS_TLS_CA: join(dir, 'ca.pem'), NACOS_TLS_SERVERNAME: 'nacos.internal' })).toThrow(
      configInvalid(['NACOS_TLS', 'NACOS_TLS_CA', 'NACOS_TLS_SERVERNAME'], /set without NACOS_TLS=true/),
    );
    expect(() => nacosOptionsFromEnv({ ...SERVER, NACOS_TLS: 'false', NACOS_TLS_CA: join(dir, 'ca.pem') })).toThrow(
      configInvalid(['NACOS_TLS', 'NACOS_TLS_CA']),
    );
  });

  test('NACOS_TLS must be a boolean', () => {
    expect(() => nacosOptionsFromEnv({ ...SERVER, NACOS_TLS: 'yes' })).toThrow(configInvalid(['NACOS_TLS'], /NACOS_TLS must be true, 1, false or 0 \(got "yes"\)/));
  });

  test('an unreadable PEM file fails at start-up, naming the variable and the path', () => {
    const missing = join(dir, 'missing.pem');
    expect(() => nacosOptionsFromEnv({ ...SERVER, NACOS_TLS: 'true', NACOS_TLS_CA: missing })).toThrow(
      configInvalid(['NACOS_TLS_CA'], new RegExp(`^NACOS_TLS_CA: cannot read the PEM file ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(ENOENT`)),
    );
  });
});

describe('registryFromEnv and rulesFromEnv with TLS', () => {
  test('registryFromEnv builds a Nacos registry with the TLS variables', async () => {
    const registry = registryFromEnv({
      ...SERVER,
      NACOS_TLS: 'true',
      NACOS_TLS_CA: join(dir, 'ca.pem'),
      NACOS_TLS_SERVERNAME: 'nacos.internal',
      NACOS_TLS_CERT: join(dir, 'client.pem'),
      NACOS_TLS_KEY: join(dir, 'client.key'),
    });
    expect(registry.kind).toBe('nacos');
    await registry.close();
  });

  test('registryFromEnv refuses invalid TLS combinations with GRAYLANE_ERR_CONFIG_INVALID', () => {
    expect(() => registryFromEnv({ ...SERVER, NACOS_TLS: 'true', NACOS_TLS_KEY: join(dir, 'client.key') })).toThrow(
      configInvalid(['NACOS_TLS_CERT', 'NACOS_TLS_KEY']),
    );
    expect(() => registryFromEnv({ ...SERVER, NACOS_TLS_CERT: join(dir, 'client.pem'), NACOS_TLS_KEY: join(dir, 'client.key') })).toThrow(
      configInvalid(['NACOS_TLS', 'NACOS_TLS_CERT', 'NACOS_TLS_KEY']),
    );
    expect(() => registryFromEnv({ ...SERVER, NACOS_TLS: 'on' })).toThrow(configInvalid(['NACOS_TLS']));
  });

  test('rulesFromEnv reads the same variables', () => {
    expect(() => rulesFromEnv({ ...SERVER, GRAYLANE_RULES_DATA_ID: 'rules.yaml', NACOS_TLS: 'true', NACOS_TLS_CERT: join(dir, 'client.pem') })).toThrow(
      configInvalid(['NACOS_TLS_CERT', 'NACOS_TLS_KEY']),
    );
  });
});
