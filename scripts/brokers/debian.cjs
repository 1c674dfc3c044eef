'use strict';
// Redis and RabbitMQ for the tests come from Debian's packages: installed with apt-get when their
// binaries are missing (as root; otherwise a message says what to install by hand). Any system
// service a package's postinst starts on the default ports (6379, 5672, epmd 4369) is stopped and
// disabled: the tests only ever use the private instances redis.cjs and rabbitmq.cjs start.

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { cacheDir, buildOnce, runBuild, canConnect, defaultLog } = require('../nacos/common.cjs');

/** What each broker needs from Debian: its package, the binaries the start helpers run, its service. */
const DEBIAN = {
  redis: { pkg: 'redis-server', bins: ['/usr/bin/redis-server'], services: ['redis-server'], ports: [6379] },
  rabbitmq: {
    pkg: 'rabbitmq-server',
    // rabbitmq-server and rabbitmq-diagnostics are in /usr/sbin, as Debian ships them; epmd comes
    // with erlang-base (a dependency).
    bins: ['/usr/sbin/rabbitmq-server', '/usr/sbin/rabbitmq-diagnostics', '/usr/bin/epmd'],
    services: ['rabbitmq-server', 'epmd'],
    ports: [5672, 4369],
  },
};

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The binaries of `kind` that are not there (an empty list when it is installed). */
function missingBinaries(kind) {
  return DEBIAN[kind].bins.filter((bin) => !isExecutable(bin));
}

function byHand(pkgs) {
  return `install them by hand: sudo apt-get update && sudo apt-get install -y --no-install-recommends ${pkgs.join(' ')}`;
}

/**
 * Stops and disables a system service a package may have started (Debian's postinst starts
 * rabbitmq-server and redis-server where services may start). Quiet: a service that does not
 * exist or is not running is fine.
 */
function stopSystemService(service, log) {
  const quiet = { stdio: 'ignore', timeout: 60_000 };
  if (fs.existsSync('/run/systemd/system')) {
    const r = spawnSync('systemctl', ['disable', '--now', `${service}.service`], quiet);
    if (r.status === 0) log(`stopped and disabled the system service ${service} (the tests run their own instances)`);
    if (service === 'epmd') spawnSync('systemctl', ['disable', '--now', 'epmd.socket'], quiet);
    return;
  }
  if (fs.existsSync(`/etc/init.d/${service}`)) {
    const r = spawnSync('service', [service, 'status'], quiet);
    if (r.status === 0) {
      spawnSync('service', [service, 'stop'], quiet);
      log(`stopped the system service ${service} (the tests run their own instances)`);
    }
    spawnSync('update-rc.d', [service, 'disable'], quiet);
  }
}

/**
 * Makes sure the Debian packages of `kinds` (redis, rabbitmq) are installed: one `apt-get install`
 * for all that are missing, shared by concurrent callers through a lock. Rejects with what to
 * install by hand when it cannot install (not root, no apt-get, apt failed).
 */
async function ensureDebianPackages(kinds, { log = defaultLog('apt') } = {}) {
  const missing = () => kinds.filter((kind) => missingBinaries(kind).length > 0);
  if (missing().length === 0) return;
  const pkgs = missing().map((kind) => DEBIAN[kind].pkg);
  if (process.platform !== 'linux' || !isExecutable('/usr/bin/apt-get')) {
    throw new Error(`${pkgs.join(' and ')} are not installed and this machine has no apt-get; install ${pkgs.join(', ')} (Redis 7, RabbitMQ 3.x) so that ${missing().flatMap((k) => missingBinaries(k)).join(', ')} exist`);
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error(`${pkgs.join(' and ')} are not installed and installing them needs root; ${byHand(pkgs)}`);
  }
  await buildOnce({
    lock: path.join(cacheDir(), 'apt-brokers.lock'),
    isDone: () => missing().length === 0,
    what: pkgs.join(', '),
    log,
    build: async () => {
      const todo = missing().map((kind) => DEBIAN[kind].pkg);
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      const started = Date.now();
      // What listened on the default ports before the install is someone else's; what listens
      // there after it was started by the packages' postinst (rabbitmq's starts an epmd daemon even
      // where services may not start) and is stopped below.
      const ports = kinds.flatMap((kind) => DEBIAN[kind].ports);
      const before = new Map(await Promise.all(ports.map(async (port) => [port, await canConnect(port)])));
      const progress = /^(Get:\d+|Setting up|E:|Err:)/;
      try {
        log(`installing ${todo.join(', ')} from Debian's packages (apt-get update, then apt-get install -y --no-install-recommends)`);
        await runBuild('apt-get', ['update'], { env, log, progress: /^(E:|Err:)/ });
        await runBuild('apt-get', ['install', '-y', '--no-install-recommends', ...todo], { env, log, progress });
      } catch (error) {
        throw new Error(`apt-get could not install ${todo.join(', ')}: ${error.message}\n${byHand(todo)}`);
      }
      log(`installed ${todo.join(', ')} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      for (const kind of kinds) for (const service of DEBIAN[kind].services) stopSystemService(service, log);
      if (ports.includes(4369) && !before.get(4369) && (await canConnect(4369))) {
        // `epmd -kill` asks the epmd on the default port to exit (it has no nodes: the broker
        // service is stopped above).
        spawnSync('/usr/bin/epmd', ['-kill'], { stdio: 'ignore', timeout: 10_000, env: { ...process.env, ERL_EPMD_PORT: '4369' } });
        log('stopped the epmd daemon the rabbitmq-server package started on port 4369');
      }
      for (const port of ports) {
        if (!before.get(port) && (await canConnect(port))) log(`warning: something still listens on 127.0.0.1:${port} after the install; the tests do not use it`);
      }
    },
  });
}

module.exports = { DEBIAN, missingBinaries, ensureDebianPackages };
