/**
 * A Node service joins a Java fleet on the Java Nacos server: graylane's demo services and Java
 * services on the official nacos-client (test/java-service: lane from MSE_ALICLOUD_SERVICE_TAG,
 * callee picked by alicloud.service.tag, x-mse-tag forwarded) in one chain, all real processes
 * registered in the server's default namespace, none of them configured with a namespace.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { hops } from './demo';
import type { JavaServiceProcess } from '../../scripts/nacos/java-service.cjs';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { startJavaService } = require(join(__dirname, '..', '..', 'scripts', 'nacos', 'java-service.cjs')) as typeof import('../../scripts/nacos/java-service.cjs');

const serverAddr = process.env['GRAYLANE_TEST_JAVA_NACOS_ADDR'];
if (!serverAddr) throw new Error('GRAYLANE_TEST_JAVA_NACOS_ADDR is not set: the global setup did not start the Java Nacos server');

interface Hop {
  readonly address: string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const serviceJs = join(__dirname, '..', '..', 'examples', 'demo', 'dist', 'service.js');

/** One graylane hop: the demo's service.js, registered in the Java server with no namespace set. */
function startNodeService(service: string, next: string, lane: string): Promise<Hop> {
  const env: NodeJS.ProcessEnv = { ...process.env, SERVICE: service, NEXT: next, GRAYLANE_LANE: lane, NACOS_SERVER_ADDR: serverAddr };
  for (const name of ['NACOS_NAMESPACE', 'MSE_ALICLOUD_SERVICE_TAG', 'GRAYLANE_REGISTRY_DIR']) delete env[name];
  const child: ChildProcess = fork(serviceJs, [], { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: [] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-10_000)));
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-10_000)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node ${service}[${lane || 'base'}] not ready in 30 s:\n${output}`));
    }, 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`node ${service}[${lane || 'base'}] exited (${code}):\n${output}`));
    });
    child.on('message', (message: { ready?: boolean; address?: string }) => {
      if (!message.ready) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      const exited = new Promise<void>((done) => child.once('exit', () => done()));
      resolve({
        address: message.address!,
        stop: async (signal = 'SIGTERM') => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(force);
        },
      });
    });
  });
}

function startJava(service: string, next: string, lane: string): Promise<JavaServiceProcess> {
  return startJavaService({ service, next, lane, serverAddr: serverAddr!, env: { NACOS_NAMESPACE: '' } });
}

async function get(address: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://${address}${path}`, { headers });
  return { status: response.status, body: await response.text() };
}

/** Polls until `check` holds (a push may still be on its way), failing with the last answer. */
async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
}

/** Sends gray requests while `stop` runs, until C answers from base; every request must succeed. */
async function fallsBackWithoutFailure(entry: string, stop: () => Promise<void>, baseC: string): Promise<number> {
  const stoppedAt = Date.now();
  const stopping = stop();
  let failures = 0;
  let fellBackAfter: number | undefined;
  for (let i = 0; i < 400 && Date.now() - stoppedAt < 15_000; i++) {
    const { status, body } = await get(entry, '/a', { 'x-mse-tag': 'gray' });
    if (status !== 200) {
      failures++;
      continue;
    }
    const chain = hops(body);
    if (chain[2]![1] === 'base') {
      expect(chain[2]).toEqual(['C', 'base', baseC]);
      fellBackAfter = Date.now() - stoppedAt;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  await stopping;
  expect(failures).toBe(0);
  expect(fellBackAfter).toBeDefined();
  return fellBackAfter!;
}

describe('Java A -> graylane B -> Java C on the Java Nacos server', () => {
  const started: Hop[] = [];
  let a: Hop;
  let b: Hop;
  let cBase: Hop;
  let cGray: Hop;

  beforeAll(async () => {
    [cBase, cGray] = await Promise.all([startJava('c', '', ''), startJava('c', '', 'gray')]);
    b = await startNodeService('b', 'c', '');
    a = await startJava('a', 'b', '');
    started.push(cBase, cGray, b, a);
  }, 180_000);

  afterAll(async () => {
    // SIGTERM: each deregisters, so the next suite on this shared server (the demo chain uses the same
    // service names) never meets instances left behind until the server notices the dead connection.
    await Promise.all(started.map((hop) => hop.stop('SIGTERM')));
  });

  test('x-mse-tag: gray from a Java caller reaches Java C-gray through graylane B', async () => {
    await eventually('A sees B and B sees both Cs', async () => (await get(a.address, '/a', { 'x-mse-tag': 'gray' })).body.includes(cGray.address));
    expect(hops((await get(a.address, '/a', { 'x-mse-tag': 'gray' })).body)).toEqual([
      ['A', 'base', a.address],
      ['B', 'base', b.address],
      ['C', 'gray', cGray.address],
    ]);
  });

  test('an unmarked request stays on base', async () => {
    for (let i = 0; i < 20; i++) {
      const { status, body } = await get(a.address, '/a');
      expect(status).toBe(200);
      expect(hops(body).map(([, lane]) => lane)).toEqual(['base', 'base', 'base']);
    }
  });

  test('Java C-gray stopping: graylane B falls back to Java C base with no failed request', async () => {
    const after = await fallsBackWithoutFailure(a.address, () => cGray.stop('SIGTERM'), cBase.address);
    console.log(`fallback (graylane caller, Java callee): ${after} ms`);
  }, 30_000);
});

describe('graylane A -> Java B -> graylane C on the Java Nacos server', () => {
  const started: Hop[] = [];
  let a: Hop;
  let b: JavaServiceProcess;
  let cBase: Hop;
  let cGray: Hop;

  beforeAll(async () => {
    [cBase, cGray] = await Promise.all([startNodeService('c', '', ''), startNodeService('c', '', 'gray')]);
    b = await startJava('b', 'c', '');
    a = await startNodeService('a', 'b', 'gray');
    started.push(cBase, cGray, b, a);
  }, 180_000);

  afterAll(async () => {
    // SIGTERM: each deregisters, so the next suite on this shared server (the demo chain uses the same
    // service names) never meets instances left behind until the server notices the dead connection.
    await Promise.all(started.map((hop) => hop.stop('SIGTERM')));
  });

  test('a Java caller lists graylane instances in public, with their lane metadata', async () => {
    const response = await fetch(`http://${serverAddr}/nacos/v1/ns/instance/list?serviceName=c&namespaceId=public`);
    const list = (await response.json()) as { hosts: Array<{ ip: string; port: number; metadata: Record<string, string> }> };
    const tags = Object.fromEntries(list.hosts.map((host) => [`${host.ip}:${host.port}`, host.metadata['alicloud.service.tag']]));
    expect(tags).toEqual({ [cBase.address]: '', [cGray.address]: 'gray' });
  });

  test('the lane survives a Java hop that only knows x-mse-tag', async () => {
    await eventually('Java B sees graylane C-gray', async () => (await get(a.address, '/a', { 'x-mse-tag': 'gray' })).body.includes(cGray.address));
    expect(hops((await get(a.address, '/a', { 'x-mse-tag': 'gray' })).body)).toEqual([
      ['A', 'gray', a.address],
      ['B', 'base', b.address],
      ['C', 'gray', cGray.address],
    ]);
  });

  test('graylane C-gray stopping: Java B falls back to graylane C base with no failed request', async () => {
    const after = await fallsBackWithoutFailure(a.address, () => cGray.stop('SIGTERM'), cBase.address);
    console.log(`fallback (Java caller, graylane callee): ${after} ms`);
  }, 30_000);
});
