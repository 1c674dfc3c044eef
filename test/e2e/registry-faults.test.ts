/**
 * Fault tests of the file registry (#12 items 3 and 6), real processes on loopback: the registry
 * directory filled with junk files and FIFOs while the demo chain serves. Before the fix a FIFO
 * named `*.json` blocked every watching process in its open (a libuv thread each), so a restarted
 * C-gray was never found, and `graylane lanes` hung for minutes.
 */
import { execFile, execFileSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addressOf, get, hops, startDemo } from './demo';
import type { Demo } from './demo';

const cli = join(__dirname, '..', '..', 'packages', 'cli', 'dist', 'cli.js');

describe('the file registry directory filled with junk and FIFOs while the chain serves', () => {
  let demo: Demo;
  const fifos: string[] = [];

  beforeAll(async () => {
    demo = await startDemo({ ...process.env, NACOS_SERVER_ADDR: '' });
    const deadline = Date.now() + 5_000;
    while ((await get(demo, '/a')).status !== 200 && Date.now() < deadline) await sleep(100);
  }, 60_000);

  afterAll(async () => {
    // Release any reader stuck on a FIFO (only a regression leaves one), so the processes can stop.
    for (const fifo of fifos) {
      try {
        closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
      } catch {
        // ENXIO: nobody reads it, as it should be.
      }
    }
    await demo?.close();
  });

  test('a restarted C-gray is found and used, unmarked traffic stays base, and graylane lanes answers promptly', async () => {
    const dir = demo.registryDir!;
    for (const service of ['a', 'b', 'c']) {
      const serviceDir = join(dir, service);
      // More FIFOs than libuv has threads (4), in every service a process watches.
      for (let n = 0; n < 6; n++) {
        const fifo = join(serviceDir, `fifo-${n}_1.json`);
        execFileSync('mkfifo', [fifo]);
        fifos.push(fifo);
      }
      mkdirSync(join(serviceDir, 'folder_1.json'));
      writeFileSync(join(serviceDir, 'junk_1.json'), '{"version":1,"serv');
      writeFileSync(join(serviceDir, 'binary_1.json'), Buffer.from([0, 255, 1, 254]));
      writeFileSync(join(serviceDir, 'notes.txt'), 'not a record');
    }

    // C-gray comes back on a new port: only a watcher that still reads the directory finds it.
    await demo.stop('c-gray', 'SIGTERM');
    const restarted = await demo.start('c-gray');
    const startedAt = Date.now();
    let foundAfter: number | undefined;
    let requests = 0;
    while (Date.now() - startedAt < 5_000) {
      const gray = await get(demo, '/a?group=gray');
      const base = await get(demo, '/a');
      requests += 2;
      expect(gray.status).toBe(200);
      expect(base.status).toBe(200);
      expect(hops(base.body).map(([, lane]) => lane)).toEqual(['base', 'base', 'base']); // unmarked never reaches gray
      if (hops(gray.body)[2]![2] === restarted.address) {
        foundAfter = Date.now() - startedAt;
        break;
      }
      await sleep(25);
    }
    console.log(`registry faults: restarted C-gray used ${foundAfter} ms after its start, ${requests} requests, none failed`);
    expect(foundAfter).toBeDefined();
    expect(hops((await get(demo, '/a?group=gray')).body)).toEqual([
      ['A', 'gray', addressOf(demo, 'a-gray')],
      ['B', 'base', addressOf(demo, 'b-base')],
      ['C', 'gray', restarted.address],
    ]);

    // graylane lanes lists the same directory, FIFOs and all, and answers at once.
    const began = Date.now();
    const { code, stdout, stderr } = await run(process.execPath, [cli, 'lanes', '--json'], { ...process.env, GRAYLANE_REGISTRY_DIR: dir, NACOS_SERVER_ADDR: '' }, 15_000);
    const tookMs = Date.now() - began;
    console.log(`registry faults: graylane lanes answered in ${tookMs} ms`);
    expect(code).toBe(0);
    expect(tookMs).toBeLessThan(5_000);
    const rows = JSON.parse(stdout) as Array<{ service: string; lane: string | null }>;
    expect(rows.filter((row) => row.service === 'c').length).toBe(2);
    expect(stderr).toContain('FIFO');
  }, 45_000);
});

/** Runs a command to its end, killing it after `timeoutMs` (a hang fails the test, not the suite). */
function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(command, args, { env, timeout: timeoutMs, killSignal: 'SIGKILL' }, (_error, stdout, stderr) => {
      resolve({ code: child.exitCode, stdout, stderr });
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
