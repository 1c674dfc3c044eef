// The failover cache on its own: files, ordering, bounds, and failures that must not throw.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FailoverCache } from '../src/cache.js';
import { resolveOptions } from '../src/options.js';
import { collectingLogger } from './rnacos.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'graylane-cache-test-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('FailoverCache', () => {
  it('saves an entry as JSON with its key and time, and reads it back', async () => {
    const cache = new FailoverCache(dir, collectingLogger());
    cache.save('config', 'DEFAULT_GROUP/rules.yaml', 'lanes: []');
    await cache.flush();
    const [file] = readdirSync(join(dir, 'config'));
    expect(file).toMatch(/^DEFAULT_GROUP_rules\.yaml-[0-9a-f]{12}\.json$/);
    expect(JSON.parse(readFileSync(join(dir, 'config', file!), 'utf8'))).toMatchObject({ key: 'DEFAULT_GROUP/rules.yaml', value: 'lanes: []' });
    await expect(new FailoverCache(dir, collectingLogger()).read('config', 'DEFAULT_GROUP/rules.yaml')).resolves.toMatchObject({
      key: 'DEFAULT_GROUP/rules.yaml',
      value: 'lanes: []',
      savedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  it('applies writes of one key in order and leaves no temporary file', async () => {
    const cache = new FailoverCache(dir, collectingLogger());
    for (let i = 0; i < 50; i++) cache.save('naming', 'DEFAULT_GROUP@@c', [{ port: i }]);
    await expect(cache.read('naming', 'DEFAULT_GROUP@@c')).resolves.toMatchObject({ value: [{ port: 49 }] });
    expect(readdirSync(join(dir, 'naming'))).toHaveLength(1);
  });

  it('keeps keys that differ only in characters a file name cannot hold apart', async () => {
    const cache = new FailoverCache(dir, collectingLogger());
    cache.save('config', 'G/a:b', 'colon');
    cache.save('config', 'G/a?b', 'question mark');
    await expect(cache.read('config', 'G/a:b')).resolves.toMatchObject({ value: 'colon' });
    await expect(cache.read('config', 'G/a?b')).resolves.toMatchObject({ value: 'question mark' });
  });

  it('removes an entry', async () => {
    const cache = new FailoverCache(dir, collectingLogger());
    cache.save('config', 'G/x', 'x');
    cache.remove('config', 'G/x');
    await expect(cache.read('config', 'G/x')).resolves.toBeUndefined();
  });

  it('does not cache an entry over 1 MiB, and drops the older copy', async () => {
    const logger = collectingLogger();
    const cache = new FailoverCache(dir, logger);
    cache.save('config', 'G/big', 'small');
    cache.save('config', 'G/big', 'x'.repeat(1024 * 1024 + 1));
    await expect(cache.read('config', 'G/big')).resolves.toBeUndefined();
    expect(logger.messages.join('\n')).toContain('larger than 1048576 bytes');
  });

  it('keeps at most 256 entries per kind, evicting the least recently written', async () => {
    const cache = new FailoverCache(dir, collectingLogger());
    for (let i = 0; i < 260; i++) {
      cache.save('naming', `G@@service-${i}`, []);
      await cache.flush(); // distinct modification times, in order
    }
    expect(readdirSync(join(dir, 'naming'))).toHaveLength(256);
    await expect(cache.read('naming', 'G@@service-0')).resolves.toBeUndefined();
    await expect(cache.read('naming', 'G@@service-259')).resolves.toBeDefined();
  });

  it('ignores a corrupt file or one saved for another key, with a warning for the corrupt one', async () => {
    const logger = collectingLogger();
    const cache = new FailoverCache(dir, logger);
    cache.save('config', 'G/x', 'x');
    await cache.flush();
    const file = join(dir, 'config', readdirSync(join(dir, 'config'))[0]!);
    writeFileSync(file, JSON.stringify({ key: 'G/other', savedAt: new Date().toISOString(), value: 'other' }));
    await expect(cache.read('config', 'G/x')).resolves.toBeUndefined();
    writeFileSync(file, '{"key": "G/x", "sav');
    await expect(cache.read('config', 'G/x')).resolves.toBeUndefined();
    expect(logger.messages.join('\n')).toContain('unreadable Nacos failover cache file');
  });

  it('warns once and never throws when the folder cannot be written', async () => {
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, '');
    const logger = collectingLogger();
    const cache = new FailoverCache(join(blocker, 'cache'), logger);
    cache.save('naming', 'G@@a', []);
    cache.save('naming', 'G@@b', []);
    await cache.flush();
    await expect(cache.read('naming', 'G@@a')).resolves.toBeUndefined();
    expect(logger.messages.filter((m) => m.includes('cannot write the Nacos failover cache'))).toHaveLength(1);
  });
});

describe('cacheDir option', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('defaults to $XDG_CACHE_HOME/graylane/nacos/<servers>/<namespace>', () => {
    delete process.env['GRAYLANE_NACOS_CACHE_DIR'];
    process.env['XDG_CACHE_HOME'] = '/var/cache/app';
    expect(resolveOptions({ serverAddr: '10.0.0.5:8848,10.0.0.6:8848' }).cacheDir).toBe('/var/cache/app/graylane/nacos/10.0.0.5_8848+10.0.0.6_8848/public');
    expect(resolveOptions({ serverAddr: '[::1]:8848', namespace: 'dev' }).cacheDir).toBe('/var/cache/app/graylane/nacos/___1__8848/dev');
  });

  it('takes GRAYLANE_NACOS_CACHE_DIR (`off` turns the cache off), and the option over the environment', () => {
    process.env['GRAYLANE_NACOS_CACHE_DIR'] = '/srv/cache';
    expect(resolveOptions({ serverAddr: 'nacos:8848' }).cacheDir).toBe('/srv/cache/nacos_8848/public');
    expect(resolveOptions({ serverAddr: 'nacos:8848', cacheDir: '/tmp/x' }).cacheDir).toBe('/tmp/x/nacos_8848/public');
    expect(resolveOptions({ serverAddr: 'nacos:8848', cacheDir: false }).cacheDir).toBeUndefined();
    process.env['GRAYLANE_NACOS_CACHE_DIR'] = 'off';
    expect(resolveOptions({ serverAddr: 'nacos:8848' }).cacheDir).toBeUndefined();
  });

  it('rejects an empty cacheDir and a negative configSyncIntervalMs', () => {
    expect(() => resolveOptions({ serverAddr: 'nacos:8848', cacheDir: ' ' })).toThrow(/cacheDir/);
    expect(() => resolveOptions({ serverAddr: 'nacos:8848', configSyncIntervalMs: -1 })).toThrow(/configSyncIntervalMs/);
  });
});
