// The packages as a user gets them. The tarballs (global-setup.cjs, `npm run pack:all`) are installed
// with the install line pack:all prints into fresh projects outside the workspace (in os.tmpdir()),
// with the framework versions a user gets from npm today; the projects' code is the guides' code
// blocks, taken from the Markdown; they compile under strict TypeScript and run as separate
// processes from different working directories, finding each other through the file registry's
// per-user default folder; a gray request must reach the gray instance, a plain one base.
//
//   express4-esm  Express 4 + axios, ES modules  docs/guides/first-gray-chain.md (web, orders)
//   express5-esm  Express 5 + axios, ES modules  the same
//   nest11-cjs    Nest 11 + fetch, CommonJS      docs/guides/nest.md (checkout: main, module, controller)
//   nest12-cjs    Nest 12 + fetch, CommonJS      the same
// The Express projects also compile (not run) the "Wire it" programs of express.md, axios.md, fetch.md.
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = join(__dirname, '..', '..', '..');
const work = process.env['GRAYLANE_CONSUMER_WORK'] ?? '';
const installLine = (process.env['GRAYLANE_CONSUMER_INSTALL'] ?? '').split(' ').slice(2); // after "npm install"
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc'); // the repository's pinned compiler

/** The guide's code blocks by the file name in their first line (`// orders/server.mjs`, `// main.ts: ...`). */
function guideFiles(guide: string): Map<string, string> {
  const md = readFileSync(join(root, 'docs', 'guides', guide), 'utf8');
  const files = new Map<string, string>();
  for (const m of md.matchAll(/```(?:ts|yaml)\n([\s\S]*?)```/g)) {
    const code = m[1] ?? '';
    const name = /^\/\/ ([\w./-]+\.(?:ts|mjs))/.exec(code)?.[1];
    if (name) files.set(name, code);
    else if (code.startsWith('lanes:')) files.set('rules.yaml', code);
  }
  return files;
}

function need(files: Map<string, string>, name: string): string {
  const code = files.get(name);
  if (code === undefined) throw new Error(`the guide has no code block named ${name} (found: ${[...files.keys()].join(', ')})`);
  return code;
}

const strict = {
  strict: true,
  exactOptionalPropertyTypes: true,
  skipLibCheck: false,
  module: 'nodenext',
  moduleResolution: 'nodenext',
  target: 'es2022',
  rootDir: 'src',
  outDir: 'dist',
  types: ['node'],
};

interface Project {
  name: string;
  type: 'module' | 'commonjs';
  deps: string[];
  compilerOptions?: Record<string, unknown>;
  files: Record<string, string>;
}

const chain = guideFiles('first-gray-chain.md');
const nest = guideFiles('nest.md');
const expressGuide = guideFiles('express.md');
const axiosGuide = guideFiles('axios.md');
const fetchGuide = guideFiles('fetch.md');

// The callee of the Nest guide's checkout: not in the guide (it only shows the caller), a plain
// Nest service with the same module.
const nestOrders = `import 'reflect-metadata';
import { Controller, Get, Module, Param } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { startGraylane } from '@graylane/node';
import { GraylaneModule } from '@graylane/nest';

let lane = 'base'; // the lane this instance serves, as graylane read it from GRAYLANE_LANE

@Controller('api/orders')
class ApiOrders {
  @Get(':id')
  get(@Param('id') id: string) {
    return { id, servedBy: \`orders[\${lane}]\` };
  }
}

async function bootstrap() {
  const graylane = await startGraylane({ service: 'orders' });
  lane = graylane.lane ?? 'base';
  @Module({ imports: [GraylaneModule.forRoot({ carriers: graylane.carriers })], controllers: [ApiOrders] })
  class OrdersModule {}
  const app = await NestFactory.create(OrdersModule, { logger: ['error'] });
  await app.listen(0, '127.0.0.1');
  await graylane.register({ server: app.getHttpServer() });
  graylane.handleSignals(app.getHttpServer());
}
bootstrap().catch((error) => {
  console.error(error);
  process.exit(1);
});
`;

const expressProject = (name: string, express: string, typesExpress: string): Project => ({
  name,
  type: 'module',
  deps: [express, typesExpress, 'axios@^1.7.0', '@types/node@20'],
  files: {
    'src/orders.ts': need(chain, 'orders/server.mjs'),
    'src/web.ts': need(chain, 'web/server.mjs'),
    'rules.yaml': need(chain, 'rules.yaml'),
    // compiled, not run: the "Wire it" programs of the Express, axios and fetch guides
    'src/guide-express.ts': need(expressGuide, 'server.ts'),
    'src/guide-axios.ts': need(axiosGuide, 'checkout.ts'),
    'src/guide-fetch.ts': need(fetchGuide, 'checkout.ts'),
  },
});

const nestProject = (name: string, major: number): Project => ({
  name,
  type: 'commonjs',
  deps: [`@nestjs/common@^${major}`, `@nestjs/core@^${major}`, `@nestjs/platform-express@^${major}`, 'reflect-metadata@^0.2.0', 'rxjs@^7.8.0', '@types/node@20'],
  compilerOptions: { experimentalDecorators: true, emitDecoratorMetadata: true },
  files: {
    'src/main.ts': need(nest, 'main.ts'),
    'src/lane-fetch.ts': need(nest, 'lane-fetch.ts'),
    'src/app.module.ts': need(nest, 'app.module.ts'),
    'src/orders.controller.ts': need(nest, 'orders.controller.ts'),
    'src/orders-main.ts': nestOrders,
  },
});

const projects: Project[] = [
  expressProject('express4-esm', 'express@^4.21.0', '@types/express@^4'),
  expressProject('express5-esm', 'express@^5.1.0', '@types/express@^5'),
  nestProject('nest11-cjs', 11),
  nestProject('nest12-cjs', 12),
];

const timings: string[] = [];
/** Each project's `npm install` warnings about skipped install scripts. */
const installWarnings = new Map<string, string[]>();
/** The `allowScripts` the first-gray-chain guide tells users to add (its one-line JSON block). */
const guideAllowScripts = (() => {
  const block = /```json\n(\{ "allowScripts": .*\})\n```/.exec(readFileSync(join(root, 'docs/guides/first-gray-chain.md'), 'utf8'));
  if (!block) throw new Error('docs/guides/first-gray-chain.md no longer shows the allowScripts block');
  return JSON.parse(block[1]!) as { allowScripts: Record<string, boolean> };
})();

async function prepare(p: Project): Promise<string> {
  const dir = join(work, p.name);
  mkdirSync(join(dir, 'src'), { recursive: true });
  // With the guide's allowScripts (first-gray-chain.md): the install then warns about nothing skipped.
  const pkg = { name: p.name, version: '1.0.0', private: true, type: p.type, ...guideAllowScripts };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...strict, ...p.compilerOptions }, include: ['src'] }, null, 2));
  for (const [file, code] of Object.entries(p.files)) writeFileSync(join(dir, file), code);
  const t0 = Date.now();
  try {
    // pack:all's install line, plus the user's own framework and client, from the npm registry
    const { stderr } = await run('npm', ['install', ...installLine, ...p.deps, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=warn'], { cwd: dir, maxBuffer: 16 << 20 });
    installWarnings.set(p.name, stderr.split('\n').filter((line) => line.includes('install-scripts')));
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`${p.name}: npm install failed:\n${e.stderr ?? e.message}`);
  }
  const t1 = Date.now();
  try {
    await run(process.execPath, [tsc, '-p', '.'], { cwd: dir, maxBuffer: 16 << 20 });
  } catch (error) {
    const e = error as { stdout?: string; message: string };
    throw new Error(`${p.name}: tsc failed under strict TypeScript:\n${e.stdout ?? e.message}`);
  }
  timings.push(`${p.name}: install ${t1 - t0} ms, tsc ${Date.now() - t1} ms`);
  return dir;
}

const prepared = new Map<string, Promise<string>>();
beforeAll(() => {
  // all four installs at once (npm mostly waits on the network and the cache); compiling follows each
  for (const p of projects) {
    const promise = prepare(p);
    promise.catch(() => {}); // reported by the project's own test
    prepared.set(p.name, promise);
  }
});
afterAll(() => console.log(timings.join('\n')));

const children: ChildProcess[] = [];
afterEach(async () => {
  await Promise.all(
    children.splice(0).map(
      (child) =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          child.once('exit', () => {
            clearTimeout(timer);
            done();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
});

interface Started {
  child: ChildProcess;
  line: string; // the start-up line
  port: number;
}

/** Starts `node <script>` in `cwd` and resolves with its start-up line (`graylane: ... registered at host:port ...`). */
function start(script: string, cwd: string, env: Record<string, string>, until: RegExp): Promise<Started> {
  const child = spawn(process.execPath, [script], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start within 30 s:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split('\n').find((l) => until.test(l));
      if (!line) return;
      clearTimeout(timer);
      const port = Number(/registered at [^ ]+:(\d+)/.exec(line)?.[1]);
      resolve({ child, line, port });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code} before it started:\n${output}`));
    });
  });
}

async function getJson(url: string, headers: Record<string, string> = {}): Promise<unknown> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  expect(res.status).toBe(200);
  return res.json();
}

/**
 * A private registry location per run, so parallel runs do not collide, reached the way a user's
 * processes reach it: the per-user default folder under XDG_RUNTIME_DIR (Express projects), or one
 * absolute GRAYLANE_REGISTRY_DIR given to every process alike (Nest projects). Never cwd-relative.
 */
function registryEnv(kind: 'default' | 'explicit'): { env: Record<string, string>; dir: string } {
  const base = mkdtempSync(join(work, 'run-'));
  if (kind === 'default') {
    const runtime = join(base, 'xdg');
    mkdirSync(runtime, { mode: 0o700 });
    return { env: { XDG_RUNTIME_DIR: runtime, GRAYLANE_REGISTRY_DIR: '' }, dir: join(runtime, 'graylane', 'registry') };
  }
  const dir = join(base, 'registry');
  return { env: { GRAYLANE_REGISTRY_DIR: dir }, dir };
}

/** A working directory of its own for each process, unrelated to the project's. */
const cwd = (name: string) => mkdtempSync(join(work, `cwd-${name}-`));

describe.each(projects.filter((p) => p.type === 'module').map((p) => [p.name]))('%s (first-gray-chain.md)', (name) => {
  test('installs, compiles strictly, and routes ?group=gray to orders[gray], the rest to base', async () => {
    const dir = await prepared.get(name)!;
    const { env, dir: registry } = registryEnv('default');
    const common = { ...env, NACOS_SERVER_ADDR: '', GRAYLANE_LANE: '' };
    const base = await start(join(dir, 'dist/orders.js'), cwd('orders-base'), { ...common, PORT: '0' }, /orders\[base\] registered at/);
    const gray = await start(join(dir, 'dist/orders.js'), cwd('orders-gray'), { ...common, PORT: '0', GRAYLANE_LANE: 'gray' }, /orders\[gray\] registered at/);
    const web = await start(
      join(dir, 'dist/web.js'),
      cwd('web'),
      { ...common, PORT: '0', GRAYLANE_RULES_FILE: join(dir, 'rules.yaml') },
      /web\[base\] registered at/,
    );
    for (const s of [base, gray, web]) expect(s.line).toContain(`(file registry ${registry})`);
    expect(web.line).toContain('depends on orders: 2 instances (base, gray)');

    const url = `http://127.0.0.1:${web.port}/checkout`;
    expect(await getJson(`${url}?group=gray`)).toEqual({ web: 'web[base]', order: { id: '42', servedBy: 'orders[gray]' } });
    expect(await getJson(url, { 'x-user-id': '42' })).toEqual({ web: 'web[base]', order: { id: '42', servedBy: 'orders[gray]' } });
    expect(await getJson(url)).toEqual({ web: 'web[base]', order: { id: '42', servedBy: 'orders[base]' } });
    // web is an entry: a client's own lane header is not trusted, the rules decide
    expect(await getJson(url, { 'x-mse-tag': 'gray' })).toEqual({ web: 'web[base]', order: { id: '42', servedBy: 'orders[base]' } });
  });
});

describe.each(projects.filter((p) => p.type === 'commonjs').map((p) => [p.name]))('%s (nest.md)', (name) => {
  test('installs, compiles strictly, and a gray request from checkout reaches orders[gray]', async () => {
    const dir = await prepared.get(name)!;
    const { env, dir: registry } = registryEnv('explicit');
    const common = { ...env, NACOS_SERVER_ADDR: '', GRAYLANE_LANE: '' };
    const base = await start(join(dir, 'dist/orders-main.js'), cwd('orders-base'), common, /orders\[base\] registered at/);
    const gray = await start(join(dir, 'dist/orders-main.js'), cwd('orders-gray'), { ...common, GRAYLANE_LANE: 'gray' }, /orders\[gray\] registered at/);
    const checkout = await start(join(dir, 'dist/main.js'), cwd('checkout'), { ...common, PORT: '0' }, /checkout\[base\] registered at/);
    for (const s of [base, gray, checkout]) expect(s.line).toContain(`(file registry ${registry})`);
    expect(checkout.line).toContain('depends on orders: 2 instances (base, gray)');

    const url = `http://127.0.0.1:${checkout.port}/orders/7`;
    // checkout is an inner hop in the guide (no entry, no rules): it keeps the lane its caller sends
    expect(await getJson(url, { 'x-mse-tag': 'gray' })).toEqual({ lane: 'gray', order: { id: '42', servedBy: 'orders[gray]' } });
    expect(await getJson(url)).toEqual({ lane: 'base', order: { id: '42', servedBy: 'orders[base]' } });
  });
});

describe('install scripts (first-gray-chain.md, step 1)', () => {
  test.each(projects.map((p) => [p.name]))('%s: with the guide’s allowScripts, npm warns about no skipped install script', async (name) => {
    await prepared.get(name)!;
    expect(installWarnings.get(name)).toEqual([]);
  });
});
