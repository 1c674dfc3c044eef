/**
 * Upstream instances for the gateway's end-to-end suites (lane-health, transport-faults): each is
 * a child process (fixtures/lane-upstream.cjs) on a loopback port, SIGKILLed by the test or by
 * {@link killAllUpstreams} after it.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const UPSTREAM = join(__dirname, 'fixtures', 'lane-upstream.cjs');

export interface Upstream {
  readonly name: string;
  readonly lane: string | undefined;
  readonly port: number;
  readonly child: ChildProcess;
}

const children = new Set<ChildProcess>();

/** Starts one upstream process; resolves once it listens. `env` reaches the fixture (IDLE_MS, ...). */
export async function startUpstream(name: string, lane: string | undefined, env: Record<string, string> = {}): Promise<Upstream> {
  const child = spawn(process.execPath, [UPSTREAM], {
    env: { ...process.env, NAME: name, LANE: lane ?? '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 10 s`)), 10_000);
    child.once('exit', (code) => reject(new Error(`${name} exited with ${String(code)} before listening`)));
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { port: number }).port);
    });
  });
  return { name, lane, port, child };
}

/** SIGKILLs `upstream`; resolves once it has exited. */
export function kill(upstream: Upstream): Promise<void> {
  return new Promise((resolve) => {
    if (upstream.child.exitCode !== null || upstream.child.signalCode !== null) return resolve();
    upstream.child.once('exit', () => resolve());
    upstream.child.kill('SIGKILL');
  });
}

/** SIGKILLs every upstream still running; for afterEach. */
export async function killAllUpstreams(): Promise<void> {
  await Promise.all([...children].map((child) => new Promise<void>((resolve) => (child.once('exit', () => resolve()), child.kill('SIGKILL')))));
}
