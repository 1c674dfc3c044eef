/**
 * examples/pipeline/run.mjs end to end: the lane lifecycle on the demo's real processes (file
 * registry, lane store in a file), each step's effect asserted by the script; here, that it ran
 * every step and passed, and that disable put every hop on base within 1 s.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';

const script = join(__dirname, '..', '..', 'examples', 'pipeline', 'run.mjs');

test('create -> deploy gray -> verify -> disable -> enable -> promote -> cleanup', async () => {
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile(process.execPath, [script], { env: { ...process.env, NACOS_SERVER_ADDR: '' }, timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: stdout + stderr });
    });
  });
  if (code !== 0) console.log(output);
  expect(code).toBe(0);
  const steps = [...output.matchAll(/^== (.+)$/gm)].map((m) => m[1]!.split(':')[0]!.split(' (')[0]);
  expect(steps).toEqual(['start the demo on base', 'create the lane', 'deploy gray', 'verify', 'disable', 'enable', 'promote', 'cleanup']);
  const off = /all hops base (\d+) ms after disable/.exec(output);
  expect(Number(off?.[1])).toBeLessThan(1000);
  expect(output).toMatch(/lane verify gray .* -> exit 0/);
  expect(output).toContain('"drained": true');
  expect(output).toContain('pipeline: every step passed');
}, 150_000);
