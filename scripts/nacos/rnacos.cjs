'use strict';
// r-nacos, the real Nacos server graylane's tests and local runs use (docs/guides/nacos.md).
//
// Builds a pinned r-nacos once into a user cache with `cargo install --locked`, then starts
// throw-away servers on free loopback ports with their own data directory and working directory,
// never reading or touching ./.env. Every server this process starts is killed when it exits.
//
// CommonJS so that jest suites (compiled to CommonJS) can `require` it; rnacos.mjs re-exports it for
// ESM callers. Types: rnacos.d.cts / rnacos.d.mts.

const fs = require('node:fs');
const fsp = require('node:fs/promises');
const os = require('node:os');
const path = require('node:path');
const { HOST, sleep, cacheDir, buildOnce, runBuild, freePorts, getJson, canConnect, spawnServer, killServer, defaultLog } = require('./common.cjs');

const RNACOS_VERSION = '0.8.8';
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;
const STDERR_TAIL_LINES = 30;
/**
 * Start-ups tried before giving up, the n-th retry after n × START_RETRY_DELAY_MS. r-nacos 0.8.8 can
 * panic in raft start-up (`raftapply.rs:421`, a manager unwrapped before it is set: a race that
 * load makes likelier); three attempts in a row, with no pause between them, all panicked once in
 * CI while other work loaded the machine, so the attempts now wait for a burst of load to pass.
 */
const START_ATTEMPTS = 5;
const START_RETRY_DELAY_MS = 1_000;

/**
 * Cargo profile for the one-time build. r-nacos' release profile (LTO, one codegen unit) took 23 to
 * 45 minutes on two cores; a test server does not need that optimisation: opt-level 1, 16 codegen
 * units and no LTO built it in 8 min on an idle two-core machine. A binary built either way serves
 * the tests; the profile is part of the cache key so a change rebuilds.
 */
const CARGO_PROFILE = {
  CARGO_PROFILE_RELEASE_LTO: 'false',
  CARGO_PROFILE_RELEASE_CODEGEN_UNITS: '16',
  CARGO_PROFILE_RELEASE_OPT_LEVEL: '1',
  CARGO_PROFILE_RELEASE_DEBUG: 'false',
  CARGO_PROFILE_RELEASE_STRIP: 'true',
};

function installRoot() {
  return path.join(cacheDir(), `rnacos-${RNACOS_VERSION}`);
}

/** Path of the r-nacos binary: `GRAYLANE_RNACOS_BIN`, else the cached build (which may not exist yet). */
function rnacosBinary() {
  if (process.env.GRAYLANE_RNACOS_BIN) return process.env.GRAYLANE_RNACOS_BIN;
  return path.join(installRoot(), 'bin', process.platform === 'win32' ? 'rnacos.exe' : 'rnacos');
}

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * Returns the path of a usable r-nacos binary, building it with cargo first when it is missing.
 * Concurrent callers (jest workers, several suites) share one build through a lock directory.
 */
async function ensureRnacos({ log = defaultLog('rnacos') } = {}) {
  const bin = rnacosBinary();
  if (isExecutable(bin)) return bin;
  if (process.env.GRAYLANE_RNACOS_BIN) {
    throw new Error(`GRAYLANE_RNACOS_BIN=${bin} is not an executable file`);
  }
  await buildOnce({
    lock: `${installRoot()}.lock`,
    isDone: () => isExecutable(bin),
    build: () => cargoInstall(log),
    log,
    what: `r-nacos ${RNACOS_VERSION}`,
  });
  return bin;
}

async function cargoInstall(log) {
  const args = ['install', 'rnacos', '--version', RNACOS_VERSION, '--locked', '--root', installRoot()];
  log(`r-nacos ${RNACOS_VERSION} is not built yet: running cargo ${args.join(' ')} (opt-level 1, no LTO)`);
  log('this one-time build took 8 min on an idle 2-core machine; the binary is cached in ' + installRoot());
  try {
    await runBuild('cargo', args, {
      env: { ...process.env, ...CARGO_PROFILE },
      log,
      progress: /^\s*(Installing|Installed|Finished|error|warning: build failed)/,
    });
  } catch (error) {
    if (error.code === 'ENOENT') {
      throw new Error('cannot build r-nacos: `cargo` is not on PATH (install Rust from https://rustup.rs, or set GRAYLANE_RNACOS_BIN to an r-nacos binary)');
    }
    throw new Error(`cargo install rnacos ${RNACOS_VERSION} failed: ${error.message}`);
  }
}

/** A random HTTP port whose gRPC port (HTTP + 1000) is free too. */
function freePortPair() {
  return freePorts([0, 1000]);
}

/**
 * Ready means ready for what a test does first: `/health` answers, raft has a leader (so writes
 * succeed), and with open-API auth on, the initial admin (created shortly after start) can log in.
 */
async function isReady(httpPort, env) {
  const base = `http://${HOST}:${httpPort}`;
  if ((await getJson(`${base}/health`)).status !== 200) return false;
  const { RNACOS_ENABLE_OPEN_API_AUTH: auth, RNACOS_INIT_ADMIN_USERNAME: username, RNACOS_INIT_ADMIN_PASSWORD: password } = env;
  if (auth === 'true' && username && password) {
    const body = new URLSearchParams({ username, password });
    return (await getJson(`${base}/nacos/v1/auth/login`, { method: 'POST', body })).status === 200;
  }
  const metrics = await getJson(`${base}/nacos/v1/raft/metrics`);
  return metrics.status === 403 || (metrics.body?.current_leader ?? null) !== null;
}

/**
 * One r-nacos process on fixed ports and a fixed data directory; `restart()` starts it again on the
 * same ports and data, as an operator restarting a server would.
 */
class RnacosNode {
  constructor({ bin, httpPort, env, workDir, dataDir }) {
    this.host = HOST;
    this.httpPort = httpPort;
    this.grpcPort = httpPort + 1000;
    this.serverAddr = `${HOST}:${httpPort}`;
    this.dataDir = dataDir;
    this.workDir = workDir;
    this._bin = bin;
    this._env = env;
    this._proc = undefined;
  }

  async _start() {
    const envFile = path.join(this.workDir, 'empty.env');
    await fsp.writeFile(envFile, '');
    const env = {
      ...process.env,
      RNACOS_HTTP_PORT: String(this.httpPort),
      RNACOS_GRPC_PORT: String(this.grpcPort),
      RNACOS_HTTP_CONSOLE_PORT: '0',
      RNACOS_SDK_HOST: HOST,
      RNACOS_CONSOLE_HOST: HOST,
      RNACOS_DATA_DIR: this.dataDir,
      RNACOS_RAFT_NODE_ADDR: `${HOST}:${this.grpcPort}`,
      RUST_LOG: 'warn',
      // With metadata persistence on (r-nacos' default), the metadata an ip:port first registers with
      // is pinned and later gRPC registrations cannot change it, so lanes could not change by
      // re-registration. docs/guides/nacos.md tells r-nacos operators the same.
      RNACOS_NAMING_INSTANCE_METADATA_PERSISTENCE_ENABLE: 'false',
      ...this._env,
    };
    const proc = spawnServer(this._bin, ['-e', envFile], { cwd: this.workDir, env, tailLines: STDERR_TAIL_LINES });
    this._proc = proc;

    const deadline = Date.now() + START_TIMEOUT_MS;
    const panicked = () => proc.tail.some((line) => line.includes('panicked at'));
    while (Date.now() < deadline && !proc.exited() && !panicked()) {
      if ((await isReady(this.httpPort, this._env)) && (await canConnect(this.grpcPort))) return;
      await Promise.race([sleep(100), proc.exit]);
    }
    const exited = proc.exited();
    const reason = exited?.error
      ? `could not spawn ${this._bin}: ${exited.error.message}`
      : panicked()
        ? 'r-nacos panicked during start-up'
        : exited
          ? `r-nacos exited (code ${exited.code}, signal ${exited.signal}) during start-up`
          : `r-nacos on ${this.serverAddr} was not ready (health, raft leader, gRPC port) within ${START_TIMEOUT_MS} ms`;
    await this.kill('SIGKILL');
    const error = new Error(`${reason}\n--- r-nacos output (tail) ---\n${this.stderrTail()}`);
    // r-nacos 0.8.8 sometimes panics in raft start-up under load (seen with auth and an initial
    // admin); another attempt usually succeeds.
    error.retryable = panicked();
    throw error;
  }

  /** Starts the process, retrying start-up failures that are worth retrying; `fresh` wipes the data first. */
  async _startWithRetries({ fresh }) {
    for (let attempt = 1; ; attempt++) {
      try {
        await this._start();
        return;
      } catch (error) {
        if (!error.retryable || attempt >= START_ATTEMPTS) throw error;
        if (fresh) await fsp.rm(this.dataDir, { recursive: true, force: true });
        await sleep(attempt * START_RETRY_DELAY_MS);
      }
    }
  }

  /** Sends `signal` to the process and resolves when it has exited. */
  kill(signal = 'SIGKILL') {
    return killServer(this._proc, signal, STOP_TIMEOUT_MS);
  }

  /** Stops the process (keeping ports and data) and starts it again; resolves when it is healthy. */
  async restart() {
    await this.kill('SIGTERM');
    await this._startWithRetries({ fresh: false });
  }

  /** Stops the process and deletes its working and data directories. */
  async stop() {
    await this.kill('SIGTERM');
    await fsp.rm(this.workDir, { recursive: true, force: true });
  }

  /** The last lines r-nacos wrote. */
  stderrTail() {
    return this._proc ? this._proc.tail.join('\n') : '';
  }
}

/**
 * Starts one r-nacos on free loopback ports (or `httpPort`) with a throw-away data directory.
 * `env` adds variables such as `RNACOS_NAMING_HEALTH_TIMEOUT_SECOND`.
 */
async function startRnacos({ httpPort, env = {}, log = defaultLog('rnacos') } = {}) {
  const bin = await ensureRnacos({ log });
  const port = httpPort ?? (await freePortPair());
  const workDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'graylane-rnacos-'));
  const node = new RnacosNode({ bin, httpPort: port, env, workDir, dataDir: path.join(workDir, 'data') });
  try {
    await node._startWithRetries({ fresh: true });
    return node;
  } catch (error) {
    await fsp.rm(workDir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Starts an `size`-node r-nacos raft cluster on loopback. Node 1 initialises the cluster, the others
 * join it. `serverAddr` lists every node's HTTP address, comma-separated.
 */
async function startRnacosCluster(size = 3, { env = {}, log = defaultLog('rnacos') } = {}) {
  const bin = await ensureRnacos({ log });
  const nodes = [];
  try {
    let seed;
    for (let id = 1; id <= size; id++) {
      const port = await freePortPair();
      const workDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'graylane-rnacos-'));
      const raftEnv =
        id === 1
          ? { RNACOS_RAFT_NODE_ID: '1', RNACOS_RAFT_AUTO_INIT: 'true' }
          : { RNACOS_RAFT_NODE_ID: String(id), RNACOS_RAFT_AUTO_INIT: 'false', RNACOS_RAFT_JOIN_ADDR: seed };
      const node = new RnacosNode({ bin, httpPort: port, env: { ...raftEnv, ...env }, workDir, dataDir: path.join(workDir, 'data') });
      nodes.push(node);
      await node._startWithRetries({ fresh: true });
      seed ??= `${HOST}:${node.grpcPort}`;
    }
  } catch (error) {
    await Promise.all(nodes.map((node) => node.stop()));
    throw error;
  }
  return {
    nodes,
    serverAddr: nodes.map((node) => node.serverAddr).join(','),
    stop: () => Promise.all(nodes.map((node) => node.stop())).then(() => undefined),
  };
}

module.exports = { RNACOS_VERSION, rnacosBinary, ensureRnacos, startRnacos, startRnacosCluster };
