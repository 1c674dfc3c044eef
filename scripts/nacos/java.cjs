'use strict';
// The Java Nacos server (3.1, standalone, embedded Derby), the server graylane's users run, for the
// tests and local runs beside r-nacos. The official server modules are not on Maven Central; a fork
// built from the official sources is (io.github.pig-mesh.nacos:nacos-server), and
// scripts/nacos/java-server starts it as upstream's NacosBootstrap does. Built once per machine
// (see maven.cjs); each server gets free loopback ports and a throw-away home, deleted on stop.
//
// Ports: main (HTTP) p, gRPC p + 1000, cluster gRPC p + 1001, raft p - 1000. The server binds the
// gRPC and raft ports on every interface (it has no bind-address setting): only loopback traffic is
// ever sent to them.

const crypto = require('node:crypto');
const fsp = require('node:fs/promises');
const os = require('node:os');
const path = require('node:path');
const { HOST, sleep, freePorts, getJson, canConnect, spawnServer, killServer, defaultLog } = require('./common.cjs');
const { ensureMavenProject } = require('./maven.cjs');

const JAVA_NACOS_VERSION = '3.1.0-bugfix';
const START_TIMEOUT_MS = 120_000;
const PROJECT_DIR = path.join(__dirname, 'java-server');

/** Builds the server's classpath once per machine (Maven, about 150 MB of jars); returns it. */
async function ensureJavaNacos({ log = defaultLog('java-nacos') } = {}) {
  const { classpath } = await ensureMavenProject({ projectDir: PROJECT_DIR, name: `java-nacos-${JAVA_NACOS_VERSION}`, log });
  return classpath;
}

function javaBinary() {
  return process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

/** One Java Nacos process on fixed ports and a fixed home; `restart()` keeps both. */
class JavaNacosNode {
  constructor({ classpath, httpPort, home, auth, properties }) {
    this.kind = 'java';
    this.host = HOST;
    this.httpPort = httpPort;
    this.grpcPort = httpPort + 1000;
    this.serverAddr = `${HOST}:${httpPort}`;
    this.dataDir = home;
    this.auth = auth;
    this._classpath = classpath;
    this._properties = properties;
    // Signing key of the server's tokens (base64, at least 32 bytes) and the identity its nodes
    // present to each other: required by the server even with auth off; random per server.
    this._secret = crypto.randomBytes(48).toString('base64');
    this._proc = undefined;
  }

  _args() {
    const props = {
      'nacos.standalone': 'true',
      'nacos.home': this.dataDir,
      'nacos.server.main.port': String(this.httpPort),
      'nacos.core.auth.plugin.nacos.token.secret.key': this._secret,
      'nacos.core.auth.server.identity.key': 'graylane-test',
      'nacos.core.auth.server.identity.value': crypto.randomBytes(8).toString('hex'),
      'nacos.core.auth.enabled': String(Boolean(this.auth)),
      'nacos.core.auth.admin.enabled': String(Boolean(this.auth)),
      ...(this.auth?.tokenTtlSeconds ? { 'nacos.core.auth.plugin.nacos.token.expire.seconds': String(this.auth.tokenTtlSeconds) } : {}),
      ...this._properties,
    };
    return [
      // A test server: small heap, quick start (C1 only), no class-data sharing warnings.
      '-Xms128m',
      '-Xmx512m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      ...Object.entries(props).map(([key, value]) => `-D${key}=${value}`),
      '-cp',
      this._classpath,
      'dev.graylane.testing.TestNacosServer',
    ];
  }

  async _start() {
    const proc = spawnServer(javaBinary(), this._args(), { cwd: this.dataDir, env: process.env, tailLines: 60 });
    this._proc = proc;
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline && !proc.exited()) {
      const ready = await getJson(`http://${HOST}:${this.httpPort}/nacos/v3/admin/core/state/readiness`);
      if (ready.status === 200 && (await canConnect(this.grpcPort))) {
        if (this.auth) await this._initAdmin();
        return;
      }
      await Promise.race([sleep(250), proc.exit]);
    }
    const exited = proc.exited();
    const reason = exited?.error
      ? `could not start ${javaBinary()}: ${exited.error.message}`
      : exited
        ? `the Java Nacos server exited (code ${exited.code}, signal ${exited.signal}) during start-up`
        : `the Java Nacos server on ${this.serverAddr} was not ready within ${START_TIMEOUT_MS} ms`;
    await killServer(proc, 'SIGKILL');
    throw new Error(`${reason}\n--- output (tail) ---\n${proc.tail.join('\n')}`);
  }

  /**
   * Nacos 3 creates no admin user: the first `POST /nacos/v3/auth/user/admin` sets its password.
   * Then a login proves the server is ready for authenticated clients; right after the admin is
   * created the server refuses it for a moment (403 on v3, 500 on v1, seen for about 2 s), so the
   * login is tried for up to 15 s. On a restart the admin exists already (the home is kept) and
   * only the login is checked.
   */
  async _initAdmin() {
    const { username, password } = this.auth;
    const base = `http://${HOST}:${this.httpPort}/nacos`;
    if (username !== 'nacos') throw new Error('the Java Nacos test server has one admin user, "nacos"');
    await getJson(`${base}/v3/auth/user/admin`, { method: 'POST', body: new URLSearchParams({ password }) });
    const deadline = Date.now() + 15_000;
    let login;
    do {
      login = await getJson(`${base}/v3/auth/user/login`, { method: 'POST', body: new URLSearchParams({ username, password }) });
      if (login.status === 200 && login.body?.accessToken) return;
      await sleep(250);
    } while (Date.now() < deadline);
    throw new Error(`the Java Nacos server on ${this.serverAddr} refused the admin login for 15 s (HTTP ${login.status})`);
  }

  /** Sends `signal` (default SIGKILL) and resolves once the process has exited. */
  kill(signal = 'SIGKILL') {
    return killServer(this._proc, signal, 10_000);
  }

  /** Stops the process (keeping ports and home) and starts it again; resolves when it serves. */
  async restart() {
    await this.kill('SIGTERM');
    await this._start();
  }

  /** Stops the process and deletes its home. */
  async stop() {
    await this.kill('SIGTERM');
    await fsp.rm(this.dataDir, { recursive: true, force: true });
  }

  /** The last lines the server wrote. */
  stderrTail() {
    return this._proc ? this._proc.tail.join('\n') : '';
  }
}

/**
 * Starts a Java Nacos server on free loopback ports (or `httpPort`) with a throw-away home.
 * `auth: { username: 'nacos', password }` turns authentication on (console, admin and client API)
 * and sets the admin's password; `properties` adds `-D` settings.
 */
async function startJavaNacos({ httpPort, auth, properties = {}, log = defaultLog('java-nacos') } = {}) {
  const classpath = await ensureJavaNacos({ log });
  const port = httpPort ?? (await freePorts([-1000, 0, 1000, 1001]));
  const home = await fsp.mkdtemp(path.join(os.tmpdir(), 'graylane-java-nacos-'));
  const node = new JavaNacosNode({ classpath, httpPort: port, home, auth, properties });
  try {
    await node._start();
    return node;
  } catch (error) {
    await fsp.rm(home, { recursive: true, force: true });
    throw error;
  }
}

module.exports = { JAVA_NACOS_VERSION, ensureJavaNacos, startJavaNacos };
