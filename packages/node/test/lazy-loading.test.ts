// @graylane/node loads gRPC, protobufjs, the Nacos client, YAML and zod only when they are used:
// a service on the file registry without rules or a lane store starts without them. Checked in a
// child process on the built package (what a service requires), from its require.cache.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dist = join(__dirname, '..', 'dist', 'index.cjs');
const HEAVY = /node_modules[\\/](@grpc[\\/][^\\/]+|protobufjs|yaml|zod)[\\/]|packages[\\/](nacos|rules|matcher)[\\/]/;

/** Starts graylane in a child process with `options` (JSON; `rulesFile` becomes a file rule source) and returns the heavy modules it loaded. */
function heavyModulesAfterStart(dir: string, options: Record<string, unknown>): string[] {
  const program = `
    const graylane = require(${JSON.stringify(dist)});
    const options = ${JSON.stringify(options)};
    if (options.rulesFile) { options.rules = graylane.fileRuleSource(options.rulesFile); delete options.rulesFile; }
    graylane.startGraylane(options).then(async (g) => {
      const heavyPattern = new RegExp(${JSON.stringify(HEAVY.source)});
      const heavy = Object.keys(require.cache).map((path) => heavyPattern.exec(path)).filter(Boolean)
        .map((match) => match[0].split(String.fromCharCode(92)).join('/'));
      console.log(JSON.stringify([...new Set(heavy)]));
      await g.shutdown();
    }, (error) => { console.error(error); process.exit(1); });`;
  const env: NodeJS.ProcessEnv = { ...process.env, GRAYLANE_REGISTRY_DIR: dir };
  for (const name of ['NACOS_SERVER_ADDR', 'GRAYLANE_RULES_FILE', 'GRAYLANE_RULES_DATA_ID', 'GRAYLANE_LANES_FILE', 'GRAYLANE_LANES_DATA_ID']) delete env[name];
  const child = spawnSync(process.execPath, ['-e', program], { env, encoding: 'utf8', timeout: 20_000 });
  expect(child.stderr).not.toMatch(/Error/);
  expect(child.status).toBe(0);
  return JSON.parse(child.stdout.trim().split('\n').pop()!) as string[];
}

describe('lazy loading (issue 13, item 4)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'graylane-lazy-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('the file registry without rules loads no gRPC, protobufjs, Nacos, YAML or zod', () => {
    expect(heavyModulesAfterStart(dir, { service: 'a', drainMs: 0, diagnostics: false })).toEqual([]);
  });

  test('with YAML rules the rule model loads (the probe sees what it claims to)', () => {
    const rulesFile = join(dir, 'rules.yaml');
    writeFileSync(rulesFile, 'lanes:\n  - tag: gray\n');
    const heavy = heavyModulesAfterStart(dir, { service: 'a', drainMs: 0, diagnostics: false, rulesFile });
    expect(heavy).toEqual(expect.arrayContaining(['node_modules/yaml/', 'node_modules/zod/']));
    expect(heavy.some((path) => /grpc|protobufjs|nacos/.test(path))).toBe(false);
  });
});
