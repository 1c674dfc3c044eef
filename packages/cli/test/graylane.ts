// Runs the built `graylane` command (dist/cli.js) as a child process, as users run it. `npm test`
// builds first (turbo's test task depends on build); after editing src, run `npx tsup`.
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const CLI = join(__dirname, '..', 'dist', 'cli.js');
if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build the package first (npx tsup in packages/cli)`);

/** A fixture file's path. */
export const fixture = (name: string): string => join(__dirname, 'fixtures', name);

/** What a finished run printed and how it exited. */
export interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of a run: extra environment variables (the registry and Nacos ones are cleared first) and the directory. */
export interface RunOptions {
  readonly env?: Record<string, string>;
  readonly cwd?: string;
}

/** Starts `graylane <args>`. */
export function start(args: readonly string[], options: RunOptions = {}): ChildProcessWithoutNullStreams {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('NACOS_') || name.startsWith('GRAYLANE_')) delete env[name];
  return spawn(process.execPath, [CLI, ...args], { env: { ...env, ...options.env }, cwd: options.cwd ?? __dirname });
}

/** Runs `graylane <args>` to the end. */
export function graylane(args: readonly string[], options: RunOptions = {}): Promise<Result> {
  const child = start(args, options);
  const output = collect(child);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: output.stdout, stderr: output.stderr }));
  });
}

/** The text a child has printed so far, growing as it prints. */
export function collect(child: ChildProcessWithoutNullStreams): { stdout: string; stderr: string } {
  const output = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (text: string) => (output.stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (output.stderr += text));
  return output;
}
