'use strict';
// What the test-server scripts share (rnacos.cjs, java.cjs, java-service.cjs): the user cache, a
// build lock shared by concurrent processes, free loopback ports, line-wise output, HTTP probes,
// and the set of child processes killed when this process exits.

const fs = require('node:fs');
const fsp = require('node:fs/promises');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawn } = require('node:child_process');

const HOST = '127.0.0.1';

/** @type {Set<import('node:child_process').ChildProcess>} */
const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** graylane's per-user cache: `GRAYLANE_CACHE_DIR`, else `$XDG_CACHE_HOME/graylane` (`~/.cache/graylane`). */
function cacheDir() {
  if (process.env.GRAYLANE_CACHE_DIR) return process.env.GRAYLANE_CACHE_DIR;
  const xdg = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(xdg, 'graylane');
}

/** A short content hash of files (paths relative to `root`), to key a cached build by its sources. */
function hashFiles(root, files) {
  const hash = crypto.createHash('sha256');
  for (const file of [...files].sort()) {
    hash.update(file);
    hash.update(fs.readFileSync(path.join(root, file)));
  }
  return hash.digest('hex').slice(0, 12);
}

/** Every file under `dir`, relative to it. */
function listFiles(dir, prefix = '') {
  const out = [];
  for (const entry of fs.readdirSync(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = path.join(prefix, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'target') out.push(...listFiles(dir, rel));
    } else if (entry.isFile()) out.push(rel);
  }
  return out;
}

function lockIsStale(lock) {
  let pid;
  try {
    pid = Number(fs.readFileSync(path.join(lock, 'pid'), 'utf8'));
  } catch {
    // Just created, pid not written yet: give its owner a moment before calling it stale.
    try {
      return Date.now() - fs.statSync(lock).mtimeMs > 10_000;
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return error.code === 'ESRCH';
  }
}

/**
 * Runs `build` at most once per machine for `isDone()`: concurrent callers (jest workers, several
 * suites, `npm test` and a developer's shell) share one build through the lock directory `lock`.
 */
async function buildOnce({ lock, isDone, build, log, what }) {
  if (isDone()) return;
  await fsp.mkdir(path.dirname(lock), { recursive: true });
  for (;;) {
    try {
      await fsp.mkdir(lock);
      break;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
    if (lockIsStale(lock)) {
      await fsp.rm(lock, { recursive: true, force: true });
      continue;
    }
    log(`waiting for another process preparing ${what} (lock ${lock})`);
    while (fs.existsSync(lock) && !lockIsStale(lock)) await sleep(2_000);
    if (isDone()) return;
  }
  try {
    await fsp.writeFile(path.join(lock, 'pid'), String(process.pid));
    if (isDone()) return;
    await build();
    if (!isDone()) throw new Error(`preparing ${what} finished but left no result`);
  } finally {
    await fsp.rm(lock, { recursive: true, force: true });
  }
}

/** Calls `onLine` for each line `stream` writes. */
function forEachLine(stream, onLine) {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    buffered += chunk;
    const lines = buffered.split(/\r?\n/);
    buffered = lines.pop();
    for (const line of lines) onLine(line);
  });
  stream.on('end', () => buffered && onLine(buffered));
}

/**
 * Runs a build command, passing the lines that match `progress` to `log`; rejects with the last
 * lines of its output when it fails.
 */
function runBuild(command, args, { cwd, env, log, progress, tailLines = 40 }) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    const tail = [];
    const onLine = (line) => {
      tail.push(line);
      if (tail.length > tailLines) tail.shift();
      if (progress.test(line)) log(line.trim());
    };
    forEachLine(child.stdout, onLine);
    forEachLine(child.stderr, onLine);
    child.on('error', (error) => {
      running.delete(child);
      reject(error);
    });
    child.on('close', (code) => {
      running.delete(child);
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(' ')} failed with exit code ${code}:\n${tail.join('\n')}`));
    });
  });
}

function portIsFree(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: HOST, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A random port p such that p + every offset is free on loopback (Nacos uses p + 1000 for gRPC, ...). */
async function freePorts(offsets = [0, 1000]) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 21_000 + Math.floor(Math.random() * 28_000);
    let free = true;
    for (const offset of offsets) if (!(await portIsFree(port + offset))) free = false;
    if (free) return port;
  }
  throw new Error(`no free loopback ports p + ${offsets.join(', ')} found`);
}

/** Status and, when the body is JSON, the parsed body; status 0 when the server did not answer. */
async function getJson(url, init) {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(2_000) });
    const text = await response.text();
    try {
      return { status: response.status, body: JSON.parse(text) };
    } catch {
      return { status: response.status, body: undefined };
    }
  } catch {
    return { status: 0, body: undefined };
  }
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Spawns a server child tracked for clean-up; keeps the last lines of its output. */
function spawnServer(command, args, { cwd, env, tailLines = 40 }) {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const tail = [];
  const onLine = (line) => {
    tail.push(line);
    if (tail.length > tailLines) tail.shift();
  };
  forEachLine(child.stdout, onLine);
  forEachLine(child.stderr, onLine);
  let exited;
  const exit = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      exited = { code, signal };
      resolve();
    });
    child.once('error', (error) => {
      running.delete(child);
      exited = { error };
      resolve();
    });
  });
  return { child, tail, exit, exited: () => exited };
}

/** Sends `signal` to a spawned server and resolves when it has exited (SIGKILL after `graceMs`). */
async function killServer(proc, signal = 'SIGKILL', graceMs = 5_000) {
  if (!proc) return;
  const { child } = proc;
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await proc.exit;
  clearTimeout(timer);
}

function defaultLog(prefix) {
  return (line) => process.stderr.write(`[${prefix}] ${line}\n`);
}

module.exports = {
  HOST,
  running,
  sleep,
  cacheDir,
  hashFiles,
  listFiles,
  buildOnce,
  forEachLine,
  runBuild,
  freePorts,
  getJson,
  canConnect,
  spawnServer,
  killServer,
  defaultLog,
};
