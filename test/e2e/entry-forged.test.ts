/**
 * An untrusted entry: a graylane gateway (a real process, trusting no client) in front of an echo
 * server (another real process) that answers the header lines it received. Whatever shape a forged
 * lane comes in — lane headers in any case, baggage members past the W3C limits, inside over-long
 * members, percent-encoded, in repeated header lines, or a lane token — none of it reaches upstream.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';

/** A value no legitimate header carries: found anywhere upstream, a forged lane got through. */
const FORGED = 'forgedlane7';
const LANE_HEADERS = ['x-mse-tag', 'x-opensergo-traffic', 'x-graylane-lane-token'];

const children: ChildProcess[] = [];
let gatewayPort: number;

function start(file: string, env: NodeJS.ProcessEnv): Promise<number> {
  const child = spawn(process.execPath, [join(__dirname, 'fixtures', 'entry', file)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /PORT (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
  });
}

beforeAll(async () => {
  const echoPort = await start('echo.cjs', {});
  gatewayPort = await start('gateway.cjs', { UPSTREAM_PORT: String(echoPort) });
}, 30_000);

afterAll(async () => {
  await Promise.all(
    children.map((child) => {
      child.removeAllListeners('exit');
      if (child.exitCode !== null) return undefined;
      child.kill('SIGTERM');
      return new Promise((resolve) => child.once('exit', resolve));
    }),
  );
});

/** Sends `lines` (header name and value, one line each, repeated names kept) to the gateway raw. */
function send(lines: Array<[string, string]>): Promise<{ status: number; body: string }> {
  const head = `GET /x HTTP/1.1\r\nhost: 127.0.0.1:${gatewayPort}\r\nconnection: close\r\n${lines.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
  return new Promise((resolve, reject) => {
    const socket = net.connect(gatewayPort, '127.0.0.1', () => socket.write(head));
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => (answer += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0), body: answer.slice(answer.indexOf('\r\n\r\n') + 4) }));
  });
}

/** What upstream received, after checking that it answered. */
async function upstreamLines(lines: Array<[string, string]>): Promise<Array<[string, string]>> {
  const { status, body } = await send(lines);
  expect(status).toBe(200);
  return (JSON.parse(body) as { lines: Array<[string, string]> }).lines;
}

function expectNoLane(received: Array<[string, string]>): void {
  for (const [name, value] of received) {
    expect(LANE_HEADERS).not.toContain(name.toLowerCase());
    expect(value).not.toContain(FORGED);
  }
}

const filler = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `k${from + i}=v`).join(',');

const shapes: Array<[string, Array<[string, string]>]> = [
  ['x-mse-tag', [['x-mse-tag', FORGED]]],
  ['X-MSE-Tag in another case', [['X-MSE-Tag', FORGED]]],
  ['x-opensergo-traffic', [['x-opensergo-traffic', `lane=${FORGED}`]]],
  ['baggage lane', [['baggage', `lane=${FORGED}`]]],
  ['baggage lane after the 180th member', [['baggage', `${filler(200)},lane=${FORGED}`]]],
  ['baggage lane beside a member over 4,096 bytes', [['baggage', `big=${'x'.repeat(5000)},lane=${FORGED}`]]],
  ['baggage lane inside a member over 4,096 bytes', [['baggage', `pad=${'x'.repeat(4200)};lane=${FORGED},user=1`]]],
  ['baggage lane past 8,192 bytes', [['baggage', `${filler(120)},pad=${'y'.repeat(4000)},pad2=${'y'.repeat(3500)},lane=${FORGED}`]]],
  ['percent-encoded and cased baggage keys', [['baggage', `%6Cane=${FORGED},LANE=${FORGED},__Microservice_Tag__=${FORGED},OpenSergo-Label=${FORGED}`]]],
  ['baggage lane in the 181st baggage header line', [...Array.from({ length: 180 }, (_, i): [string, string] => ['baggage', `k${i}=v`]), ['baggage', `lane=${FORGED}`]]],
  ['baggage lane in a later line in another case', [['baggage', 'user=1'], ['Baggage', `lane=${FORGED}`]]],
  ['the lane token header', [['x-graylane-lane-token', `v1.k.${FORGED}.9999999999.sig`]]],
];

describe('an untrusted entry forwards no forged lane', () => {
  test.each(shapes)('%s', async (_shape, lines) => {
    expectNoLane(await upstreamLines(lines));
  });

  test('all shapes at once', async () => {
    expectNoLane(await upstreamLines(shapes.flatMap(([, lines]) => lines).filter(([n]) => n.toLowerCase() !== 'baggage').concat([['baggage', `${filler(190)},lane=${FORGED}`]])));
  });

  test('baggage that is not a lane goes on, within the W3C limits', async () => {
    const received = await upstreamLines([['baggage', `user=7,${filler(200, 1)},lane=${FORGED}`]]);
    const baggage = received.filter(([n]) => n.toLowerCase() === 'baggage').map(([, v]) => v);
    expect(baggage).toHaveLength(1);
    const members = baggage[0]!.split(',');
    expect(members[0]).toBe('user=7');
    expect(members.length).toBeLessThanOrEqual(180);
  });

  test('a checker that sees a forged lane fails (the test can fail)', () => {
    expect(() => expectNoLane([['baggage', `lane=${FORGED}`]])).toThrow();
    expect(() => expectNoLane([['x-mse-tag', 'gray']])).toThrow();
  });
});
