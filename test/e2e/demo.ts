import { join } from 'node:path';
import { launchDemo } from '../../examples/demo/src/launcher';
import type { Demo } from '../../examples/demo/src/launcher';

const demoDir = join(__dirname, '..', '..', 'examples', 'demo');

/**
 * Starts the demo from its built output (real processes, real sockets) with a free gateway port,
 * its gateway on the demo's rules.yaml or on `rulesPath`.
 */
export function startDemo(env: NodeJS.ProcessEnv, rulesPath = join(demoDir, 'rules.yaml')): Promise<Demo> {
  return launchDemo({
    distDir: join(demoDir, 'dist'),
    rulesPath,
    port: 0,
    env,
    log: process.env['GRAYLANE_TEST_VERBOSE'] ? (line) => console.log(line) : undefined,
  });
}

/** GET `path` on the gateway; returns status and body text. */
export async function get(demo: Demo, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const response = await fetch(`${demo.url}${path}`, { headers });
  return { status: response.status, body: await response.text() };
}

/** The chain a text answer describes: `[['A', 'gray', '127.0.0.1:1234'], ...]`. */
export function hops(body: string): Array<[string, string, string]> {
  return body
    .trim()
    .split(' -> ')
    .map((hop) => {
      const match = /^([A-Z])\[([a-z0-9._-]+)\]@(.+)$/.exec(hop);
      if (!match) throw new Error(`not a hop: ${JSON.stringify(hop)} in ${JSON.stringify(body)}`);
      return [match[1]!, match[2]!, match[3]!];
    });
}

/** The address of a demo process, e.g. `c-gray`. */
export function addressOf(demo: Demo, name: string): string {
  const proc = demo.processes.get(name);
  if (!proc) throw new Error(`${name} is not running`);
  return proc.address;
}

export type { Demo };
