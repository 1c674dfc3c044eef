/**
 * A Node service with graylane in a chain of services that do not run graylane: Java services on
 * MSE (they speak only `x-mse-tag` and registry metadata `alicloud.service.tag`) and services that
 * run only OpenTelemetry (they speak only W3C baggage). The lane must survive the graylane hop both
 * ways, with and without an OpenTelemetry SDK in the graylane process. Real processes, real sockets.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileRegistry } from '@graylane/registry';
import type { Registry } from '@graylane/core';

interface Echo {
  server: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
}

/** A "foreign" downstream: a plain server that only echoes what it received. */
async function echoServer(name: string): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ server: name, headers: req.headers, rawHeaders: req.rawHeaders } satisfies Echo));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

function count(rawHeaders: string[], name: string): number {
  return rawHeaders.filter((value, i) => i % 2 === 0 && value.toLowerCase() === name).length;
}

function baggageEntries(echo: Echo): string[] {
  return String(echo.headers.baggage ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .sort();
}

describe.each([
  ['without an OpenTelemetry SDK', '0'],
  ['inside an app running @opentelemetry/sdk-node with HTTP instrumentation', '1'],
])('a graylane service between foreign services, %s', (_title, otel) => {
  let dir: string;
  let registry: Registry;
  let child: ChildProcess;
  let url: string;
  const echoes: http.Server[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'graylane-interop-'));
    registry = createFileRegistry({ dir });
    // Java services registered by MSE's agent: the lane is in `alicloud.service.tag` only.
    for (const [name, tag] of [
      ['java-c-base', ''],
      ['java-c-gray', 'gray'],
    ] as const) {
      const { server, port } = await echoServer(name);
      echoes.push(server);
      await registry.register({ service: 'c', host: '127.0.0.1', port, metadata: { 'alicloud.service.tag': tag } });
    }
    child = fork(join(__dirname, 'fixtures', 'hop-service.cjs'), [], {
      env: { ...process.env, OTEL: otel, SERVICE: 'b', NEXT: 'c', GRAYLANE_REGISTRY_DIR: dir, NACOS_SERVER_ADDR: '', OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const port = await new Promise<number>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`hop-service exited with ${code}`)));
      child.on('message', (m: { ready?: boolean; port?: number }) => m.ready && resolve(m.port!));
    });
    child.removeAllListeners('exit');
    url = `http://127.0.0.1:${port}/hop`;
  }, 30_000);

  afterAll(async () => {
    child?.kill('SIGTERM');
    await new Promise((resolve) => (child?.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)));
    await registry?.close();
    for (const server of echoes) server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function hop(headers: Record<string, string>): Promise<Echo> {
    const response = await fetch(url, { headers });
    expect(response.status).toBe(200);
    return (await response.json()) as Echo;
  }

  test('a Java-style caller (x-mse-tag only) reaches the Java gray instance, which sees x-mse-tag', async () => {
    const echo = await hop({ 'x-mse-tag': 'gray' });
    expect(echo.server).toBe('java-c-gray');
    expect(echo.headers['x-mse-tag']).toBe('gray');
    expect(count(echo.rawHeaders, 'x-mse-tag')).toBe(1);
  });

  // graylane carries the lane; carrying the rest of the baggage is OpenTelemetry's W3C baggage
  // propagator's job, so other entries travel only where an SDK runs (docs/concepts/propagation.md).
  const otherEntries = otel === '1' ? ['user=42'] : [];

  test('an OpenTelemetry-only caller (baggage only) reaches gray with one lane entry in one baggage header', async () => {
    const echo = await hop({ baggage: 'lane=gray,user=42' });
    expect(echo.server).toBe('java-c-gray');
    expect(baggageEntries(echo)).toEqual(['lane=gray', ...otherEntries]);
    expect(count(echo.rawHeaders, 'baggage')).toBe(1);
    expect(echo.headers['x-mse-tag']).toBe('gray');
  });

  test('an unmarked caller stays on base and nothing lane-ish is invented', async () => {
    const echo = await hop({ baggage: 'user=42' });
    expect(echo.server).toBe('java-c-base');
    expect(echo.headers['x-mse-tag']).toBeUndefined();
    expect(baggageEntries(echo)).toEqual(otherEntries);
  });

  if (otel === '1') {
    test('trace context flows alongside the lane (the SDK is really instrumenting)', async () => {
      const echo = await hop({ 'x-mse-tag': 'gray', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
      expect(echo.headers.traceparent).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
      expect(count(echo.rawHeaders, 'traceparent')).toBe(1);
    });
  }
});
