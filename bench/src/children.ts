/**
 * Every process the benchmark starts, so that all of them are stopped on exit, on error and on
 * Ctrl-C. Node children are forked with an IPC channel (they also exit when it closes); nginx runs
 * in its own process group, stopped by its master's pid (SIGQUIT, then SIGKILL of its group).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';

interface Tracked {
  readonly name: string;
  readonly child: ChildProcess;
  readonly group: boolean;
  output: string;
}

const tracked = new Set<Tracked>();
let hooksInstalled = false;

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // Last resort, synchronous: whatever is still running dies with the runner.
  process.on('exit', () => {
    for (const t of tracked) kill(t, 'SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping ${tracked.size} benchmark processes`);
      void stopAll().finally(() => process.exit(130));
    });
  }
}

function kill(t: Tracked, signal: NodeJS.Signals): void {
  const pid = t.child.pid;
  if (pid === undefined || t.child.exitCode !== null || t.child.signalCode !== null) return;
  try {
    if (t.group && signal === 'SIGKILL') process.kill(-pid, signal);
    else process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function track(name: string, child: ChildProcess, group: boolean): Tracked {
  installHooks();
  const t: Tracked = { name, child, group, output: '' };
  const collect = (chunk: Buffer) => {
    t.output = (t.output + chunk.toString()).slice(-10_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  tracked.add(t);
  child.once('exit', () => tracked.delete(t));
  return t;
}

/** Forks a Node script that reports `{ ready: true, port }` over IPC; resolves with the port. */
export function startNode(name: string, script: string, env: NodeJS.ProcessEnv, args: string[] = [], timeoutMs = 30_000): Promise<{ child: ChildProcess; port: number }> {
  // GRAYLANE_BENCH_CPU_PROF=<dir>: every server process writes a V8 CPU profile there on exit.
  const profDir = process.env['GRAYLANE_BENCH_CPU_PROF'];
  const execArgv = profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-name', `${name.replace(/\W+/g, '-')}.cpuprofile`] : [];
  const child = fork(script, args, { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv });
  const t = track(name, child, false);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${name} was not ready within ${timeoutMs} ms`)), timeoutMs);
    function fail(error: Error): void {
      clearTimeout(timer);
      kill(t, 'SIGKILL');
      reject(new Error(`${error.message}\n--- ${name} output ---\n${t.output}`));
    }
    child.once('exit', (code, signal) => fail(new Error(`${name} exited before it was ready (code ${code}, signal ${signal})`)));
    child.on('message', (message: { ready?: boolean; port?: number }) => {
      if (!message.ready || typeof message.port !== 'number') return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.once('exit', () => tracked.delete(t));
      resolve({ child, port: message.port });
    });
  });
}

/** Runs a Node script to completion (bounded by `timeoutMs`) and returns its stdout. */
export function runNode(name: string, script: string, args: string[], execArgv: string[], timeoutMs = 60_000): Promise<string> {
  const child = fork(script, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv });
  const t = track(name, child, false);
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      kill(t, 'SIGKILL');
      reject(new Error(`${name} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${name} exited with code ${code}\n${t.output}`));
    });
  });
}

/** Starts a non-Node server (nginx) in its own process group and waits for its TCP port. */
export async function startServer(name: string, command: string, args: string[], port: number, timeoutMs = 10_000): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const t = track(name, child, true);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode}\n${t.output}`);
    if (await canConnect(port)) return child;
    if (Date.now() > deadline) {
      kill(t, 'SIGKILL');
      throw new Error(`${name} did not listen on 127.0.0.1:${port} within ${timeoutMs} ms\n${t.output}`);
    }
    await delay(50);
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Stops every process started here: SIGTERM (SIGQUIT for nginx), then SIGKILL after 3 s. */
export async function stopAll(): Promise<void> {
  const all = [...tracked];
  await Promise.all(
    all.map(
      (t) =>
        new Promise<void>((resolve) => {
          if (t.child.exitCode !== null || t.child.signalCode !== null) return resolve();
          const timer = setTimeout(() => {
            kill(t, 'SIGKILL');
            resolve();
          }, 3_000);
          t.child.once('exit', () => {
            clearTimeout(timer);
            // nginx workers leave with their master on SIGQUIT; make sure of it.
            if (t.group && t.child.pid !== undefined) killGroup(t.child.pid);
            resolve();
          });
          kill(t, t.group ? 'SIGQUIT' : 'SIGTERM');
        }),
    ),
  );
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // the group is empty
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
