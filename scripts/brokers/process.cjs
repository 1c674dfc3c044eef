'use strict';
// Broker processes run in a process group of their own (RabbitMQ's start script forks the Erlang VM,
// Kafka's JVM may fork nothing, but a group costs nothing), so stop() and this process's exit end
// the server and every child it forked, by the group's id, and nothing else.

const { spawn } = require('node:child_process');
const { forEachLine, sleep } = require('../nacos/common.cjs');

/** @type {Set<number>} process group ids still running */
const groups = new Set();
process.on('exit', () => {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** Spawns `command` as the leader of a new process group; keeps the last lines of its output. */
function spawnGroup(command, args, { cwd, env, tailLines = 60 }) {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const tail = [];
  const onLine = (line) => {
    tail.push(line);
    if (tail.length > tailLines) tail.shift();
  };
  forEachLine(child.stdout, onLine);
  forEachLine(child.stderr, onLine);
  if (child.pid) groups.add(child.pid);
  let exited;
  const exit = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
    child.once('error', (error) => {
      exited = { error };
      if (child.pid) groups.delete(child.pid);
      resolve();
    });
  });
  return { child, tail, exit, exited: () => exited, pgid: child.pid };
}

function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/**
 * Sends `signal` to the whole group and resolves when the leader has exited and the group is
 * empty; SIGKILL to the group after `graceMs`.
 */
async function killGroup(proc, signal = 'SIGTERM', graceMs = 10_000) {
  if (!proc || !proc.pgid) return;
  const { pgid } = proc;
  const send = (sig) => {
    try {
      process.kill(-pgid, sig);
    } catch {
      // the group is gone
    }
  };
  if (groupAlive(pgid)) send(signal);
  const deadline = Date.now() + graceMs;
  while (groupAlive(pgid) && Date.now() < deadline) await sleep(100);
  if (groupAlive(pgid)) {
    send('SIGKILL');
    const hard = Date.now() + 5_000;
    while (groupAlive(pgid) && Date.now() < hard) await sleep(50);
  }
  await Promise.race([proc.exit, sleep(2_000)]);
  groups.delete(pgid);
}

/** Polls `probe` every `intervalMs` until it resolves truthy, the process exits, or `timeoutMs` passes. */
async function waitReady(proc, probe, { timeoutMs, intervalMs = 250 }) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline && !proc.exited()) {
    try {
      if (await probe()) return { ready: true };
    } catch (error) {
      lastError = error;
    }
    await Promise.race([sleep(intervalMs), proc.exit]);
  }
  return { ready: false, lastError };
}

module.exports = { spawnGroup, killGroup, groupAlive, waitReady };
