import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One process of the demo. */
export interface DemoProcess {
  /** `a-base`, `a-gray`, `b-base`, `c-base`, `c-gray` or `gateway`. */
  readonly name: string;
  readonly service: string;
  readonly lane: string;
  /** `host:port` it listens on. */
  readonly address: string;
  readonly child: ChildProcess;
  /** Everything the process printed, for diagnostics. */
  output(): string;
}

/** The running demo; see {@link launchDemo}. */
export interface Demo {
  /** The gateway's base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** Where the file registry lives, or `undefined` when Nacos is used. */
  readonly registryDir: string | undefined;
  /** The running processes by name. */
  readonly processes: ReadonlyMap<string, DemoProcess>;
  /** Starts (again) one of the service processes by name, e.g. `c-gray`. */
  start(name: string): Promise<DemoProcess>;
  /** Sends `signal` (default SIGTERM) to one process and waits for it to exit. */
  stop(name: string, signal?: NodeJS.Signals): Promise<void>;
  /** Stops every process (SIGTERM, then SIGKILL after 5 s) and removes the file registry. */
  close(): Promise<void>;
}

/** Options of {@link launchDemo}. */
export interface DemoOptions {
  /** The folder holding the built `service.js` and `gateway.js`. */
  readonly distDir: string;
  /** The rules file the gateway loads. */
  readonly rulesPath: string;
  /** The gateway's port; 0 picks a free one. Default 8080. */
  readonly port?: number;
  /** Extra environment for every process, e.g. `NACOS_SERVER_ADDR`. Default: this process's. */
  readonly env?: NodeJS.ProcessEnv;
  /** Called with each line a process prints, prefixed by its name. Default: silent. */
  readonly log?: (line: string) => void;
}

interface Spec {
  readonly name: string;
  readonly service: string;
  readonly lane: string;
  readonly next: string;
}

/** The seed scenario: A, B and C on base; A and C also on the `gray` lane. Callees come first. */
export const TOPOLOGY: readonly Spec[] = [
  { name: 'c-base', service: 'c', lane: 'base', next: '' },
  { name: 'c-gray', service: 'c', lane: 'gray', next: '' },
  { name: 'b-base', service: 'b', lane: 'base', next: 'c' },
  { name: 'a-base', service: 'a', lane: 'base', next: 'b' },
  { name: 'a-gray', service: 'a', lane: 'gray', next: 'b' },
];

const READY_TIMEOUT_MS = 30_000;

/**
 * Starts the seed scenario as separate processes: the five service instances, then the entry
 * gateway. Instances find each other through Nacos when `NACOS_SERVER_ADDR` is set in `env`,
 * otherwise through a file registry in a fresh temporary folder.
 */
export async function launchDemo(options: DemoOptions): Promise<Demo> {
  const baseEnv = { ...(options.env ?? process.env) };
  const useNacos = Boolean(baseEnv['NACOS_SERVER_ADDR']);
  const registryDir = useNacos ? undefined : mkdtempSync(join(tmpdir(), 'graylane-demo-'));
  if (registryDir) baseEnv['GRAYLANE_REGISTRY_DIR'] = registryDir;
  // The demo's own children must not inherit a lane meant for someone else.
  for (const name of ['GRAYLANE_LANE', 'MSE_ALICLOUD_SERVICE_TAG', 'alicloud.service.tag', 'traffic.opensergo.io/label']) {
    delete baseEnv[name];
  }
  const processes = new Map<string, DemoProcess>();
  const log = options.log ?? (() => {});

  function spawn(name: string, script: string, env: NodeJS.ProcessEnv, service: string, lane: string): Promise<DemoProcess> {
    const child = fork(join(options.distDir, script), [], { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: [] });
    let output = '';
    const collect = (chunk: Buffer) => {
      const text = chunk.toString();
      output = (output + text).slice(-20_000);
      for (const line of text.split('\n')) if (line.trim()) log(`[${name}] ${line}`);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`${name} did not become ready within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      function fail(error: Error) {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new Error(`${error.message}\n--- ${name} output ---\n${output}`));
      }
      child.once('exit', (code, signal) => fail(new Error(`${name} exited before it was ready (code ${code}, signal ${signal})`)));
      child.on('message', (message: { ready?: boolean; address?: string }) => {
        if (!message.ready) return;
        clearTimeout(timer);
        child.removeAllListeners('exit');
        const proc: DemoProcess = { name, service, lane, address: message.address ?? '', child, output: () => output };
        processes.set(name, proc);
        child.once('exit', () => {
          if (processes.get(name) === proc) processes.delete(name);
        });
        resolve(proc);
      });
    });
  }

  function startService(name: string): Promise<DemoProcess> {
    const spec = TOPOLOGY.find((s) => s.name === name);
    if (!spec) throw new Error(`no demo process named ${name}; known: ${TOPOLOGY.map((s) => s.name).join(', ')}`);
    const env = { ...baseEnv, SERVICE: spec.service, NEXT: spec.next, GRAYLANE_LANE: spec.lane === 'base' ? '' : spec.lane };
    return spawn(spec.name, 'service.js', env, spec.service, spec.lane);
  }

  async function stop(name: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const proc = processes.get(name);
    if (!proc) return;
    const { child } = proc;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  async function close(): Promise<void> {
    await Promise.all([...processes.keys()].map((name) => stop(name)));
    if (registryDir) rmSync(registryDir, { recursive: true, force: true });
  }

  try {
    // Callees first (TOPOLOGY lists them first): each caller's first instance list, which
    // startGraylane waits for, then already holds its callees, so no early request meets an empty
    // list while registry pushes catch up.
    for (const service of new Set(TOPOLOGY.map((spec) => spec.service))) {
      await Promise.all(TOPOLOGY.filter((spec) => spec.service === service).map((spec) => startService(spec.name)));
    }
    const gatewayEnv = { ...baseEnv, GATEWAY_PORT: String(options.port ?? 8080), RULES: options.rulesPath };
    const gateway = await spawn('gateway', 'gateway.js', gatewayEnv, 'gateway', 'base');
    return {
      url: `http://${gateway.address}`,
      registryDir,
      processes,
      start: startService,
      stop,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
