'use strict';
// A private Redis (Debian's redis-server) for the tests: a free loopback port, no persistence, a
// throw-away working directory deleted on stop. Never the system's Redis on 6379.

const fsp = require('node:fs/promises');
const os = require('node:os');
const path = require('node:path');
const { HOST, freePorts, defaultLog } = require('../nacos/common.cjs');
const { DEBIAN, ensureDebianPackages } = require('./debian.cjs');
const { spawnGroup, killGroup, waitReady } = require('./process.cjs');
const { redisPing } = require('./probes.cjs');

const START_TIMEOUT_MS = 15_000;

/** Installs redis-server from Debian's packages when it is missing. */
function ensureRedis({ log = defaultLog('redis') } = {}) {
  return ensureDebianPackages(['redis'], { log });
}

/** Starts redis-server on a free loopback port (or `port`); resolves once it answers PING. */
async function startRedis({ port, log = defaultLog('redis') } = {}) {
  await ensureRedis({ log });
  const listen = port ?? (await freePorts([0]));
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'graylane-redis-'));
  const args = [
    '--bind', HOST,
    '--port', String(listen),
    '--save', '',
    '--appendonly', 'no',
    '--dir', dir,
    '--daemonize', 'no',
    '--protected-mode', 'yes',
    '--logfile', '',
    '--loglevel', 'warning',
  ];
  const proc = spawnGroup(DEBIAN.redis.bins[0], args, { cwd: dir, env: process.env });
  const stop = async () => {
    await killGroup(proc, 'SIGTERM', 5_000);
    await fsp.rm(dir, { recursive: true, force: true });
  };
  const { ready, lastError } = await waitReady(proc, async () => (await redisPing(listen)) === 'PONG', { timeoutMs: START_TIMEOUT_MS, intervalMs: 50 });
  if (!ready) {
    const exited = proc.exited();
    await stop();
    const why = exited?.error ? `could not spawn redis-server: ${exited.error.message}` : exited ? `redis-server exited (code ${exited.code}, signal ${exited.signal})` : `redis-server on ${HOST}:${listen} did not answer PING within ${START_TIMEOUT_MS} ms${lastError ? ` (${lastError.message})` : ''}`;
    throw new Error(`${why}\n--- redis-server output (tail) ---\n${proc.tail.join('\n')}`);
  }
  return {
    kind: 'redis',
    host: HOST,
    port: listen,
    address: `${HOST}:${listen}`,
    url: `redis://${HOST}:${listen}`,
    env: { REDIS_URL: `redis://${HOST}:${listen}` },
    pid: proc.pgid,
    dataDir: dir,
    stop,
    tail: () => proc.tail.join('\n'),
  };
}

module.exports = { ensureRedis, startRedis };
