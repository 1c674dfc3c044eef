'use strict';
// A private RabbitMQ (Debian's rabbitmq-server) for the tests: a standalone node with its own node
// name, AMQP, distribution and epmd ports (all on 127.0.0.1, so it shares nothing with a system
// RabbitMQ or another test's node), its data, logs and config in a throw-away directory, and no
// plugins (management off). Ready when it answers the AMQP protocol header with connection.start.
// stop() ends the node and its private epmd, then deletes the directory.

const crypto = require('node:crypto');
const fsp = require('node:fs/promises');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { HOST, freePorts, canConnect, sleep, defaultLog } = require('../nacos/common.cjs');
const { ensureDebianPackages } = require('./debian.cjs');
const { spawnGroup, killGroup, waitReady } = require('./process.cjs');
const { amqpHello } = require('./probes.cjs');

// RabbitMQ boots in 5 to 15 s here; on a loaded two-core machine more.
const START_TIMEOUT_MS = 90_000;
// Debian's /usr/sbin/rabbitmq-server switches to the rabbitmq user and the system's directories;
// the script it wraps takes everything from the environment.
const SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';
const EPMD = '/usr/bin/epmd';

/** Installs rabbitmq-server from Debian's packages when it is missing. */
function ensureRabbitmq({ log = defaultLog('rabbitmq') } = {}) {
  return ensureDebianPackages(['rabbitmq'], { log });
}

/** Three distinct free loopback ports. */
async function threePorts() {
  const ports = new Set();
  while (ports.size < 3) ports.add(await freePorts([0]));
  return [...ports];
}

/** Asks the epmd on `port` to exit (it has no nodes left once ours stopped); waits until it has. */
async function killEpmd(port) {
  const env = { ...process.env, ERL_EPMD_PORT: String(port) };
  for (let attempt = 0; attempt < 20 && (await canConnect(port)); attempt++) {
    spawnSync(EPMD, ['-kill'], { env, stdio: 'ignore', timeout: 5_000 });
    await sleep(100);
  }
}

/**
 * Starts a RabbitMQ node on free loopback ports (or `port` for AMQP); resolves once it answers
 * AMQP. The guest/guest user exists and may log in from loopback only (RabbitMQ's default).
 */
async function startRabbitmq({ port, log = defaultLog('rabbitmq') } = {}) {
  await ensureRabbitmq({ log });
  const [free, distPort, epmdPort] = await threePorts();
  const amqpPort = port ?? free;
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'graylane-rabbitmq-'));
  const nodename = `graylane-${crypto.randomBytes(4).toString('hex')}@localhost`;
  await fsp.writeFile(
    path.join(dir, 'rabbitmq.conf'),
    [
      `listeners.tcp.default = ${HOST}:${amqpPort}`,
      'loopback_users.guest = true',
      'log.console = true',
      'log.console.level = warning',
      'log.file = false',
      'disk_free_limit.absolute = 50MB',
      '',
    ].join('\n'),
  );
  await fsp.writeFile(path.join(dir, 'enabled_plugins'), '[].\n');
  await fsp.writeFile(path.join(dir, 'rabbitmq-env.conf'), '');
  const env = {
    ...process.env,
    // The Erlang cookie goes to $HOME/.erlang.cookie: a private one per node.
    HOME: dir,
    RABBITMQ_NODENAME: nodename,
    RABBITMQ_NODE_IP_ADDRESS: HOST,
    RABBITMQ_NODE_PORT: String(amqpPort),
    RABBITMQ_DIST_PORT: String(distPort),
    ERL_EPMD_PORT: String(epmdPort),
    ERL_EPMD_ADDRESS: HOST,
    RABBITMQ_CONF_ENV_FILE: path.join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq.conf'),
    RABBITMQ_ADVANCED_CONFIG_FILE: path.join(dir, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
    RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dir, 'log'),
    RABBITMQ_PID_FILE: path.join(dir, 'rabbitmq.pid'),
    RABBITMQ_LOGS: '-',
    // Erlang distribution on loopback only.
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
  };
  const proc = spawnGroup(SERVER, [], { cwd: dir, env });
  const stop = async () => {
    await killGroup(proc, 'SIGTERM', 20_000);
    await killEpmd(epmdPort);
    await fsp.rm(dir, { recursive: true, force: true });
  };
  const { ready, lastError } = await waitReady(proc, async () => Boolean(await amqpHello(amqpPort)), { timeoutMs: START_TIMEOUT_MS, intervalMs: 250 });
  if (!ready) {
    const exited = proc.exited();
    await stop();
    const why = exited?.error
      ? `could not spawn ${SERVER}: ${exited.error.message}`
      : exited
        ? `rabbitmq-server exited (code ${exited.code}, signal ${exited.signal}) during start-up`
        : `RabbitMQ on ${HOST}:${amqpPort} did not answer AMQP within ${START_TIMEOUT_MS} ms${lastError ? ` (${lastError.message})` : ''}`;
    throw new Error(`${why}\n--- rabbitmq-server output (tail) ---\n${proc.tail.join('\n')}`);
  }
  return {
    kind: 'rabbitmq',
    host: HOST,
    port: amqpPort,
    distPort,
    epmdPort,
    nodename,
    address: `${HOST}:${amqpPort}`,
    url: `amqp://${HOST}:${amqpPort}`,
    env: { AMQP_URL: `amqp://${HOST}:${amqpPort}` },
    pid: proc.pgid,
    dataDir: dir,
    stop,
    tail: () => proc.tail.join('\n'),
  };
}

module.exports = { ensureRabbitmq, startRabbitmq };
