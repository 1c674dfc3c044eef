import { execFileSync } from 'node:child_process';
import { appendFileSync, closeSync, constants, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '@graylane/core';
import { requestView } from '@graylane/matcher';
import { createMemoryRegistry } from '@graylane/registry';
import { createRulesManager, fileRuleSource, rulesFromEnv, startGraylane } from '../src/index.js';
import type { RuleSource, RulesManager } from '../src/index.js';
import { captureDiag, eventually, laneRules, nextApplied } from './support/rules.js';

let dir: string;
let logs: ReturnType<typeof captureDiag>;
const managers: RulesManager[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'graylane-rules-'));
  logs = captureDiag();
});
afterEach(async () => {
  await Promise.all(managers.splice(0).map((manager) => manager.close()));
  logs.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function follow(source: RuleSource, options: Parameters<typeof createRulesManager>[1] = {}): Promise<RulesManager> {
  const manager = createRulesManager(source, options);
  managers.push(manager);
  await manager.ready();
  return manager;
}

/** Releases a reader stuck on a FIFO (only a regression leaves one), so that the suite can end. */
function releaseFifo(path: string): void {
  try {
    closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
  } catch {
    // ENXIO (nobody reads it, as it should be) or no FIFO there any more.
  }
}

const laneOf = (manager: RulesManager, user: string) => manager.matcher()?.match(requestView({ headers: { 'x-user': user } }));

describe('fileRuleSource', () => {
  test('hot-reloads edits in place and saves that rename a new file over the old one', async () => {
    const file = join(dir, 'rules.yaml');
    writeFileSync(file, laneRules('gray', 'alice'));
    // No poll within the test: file-system events alone must carry every change.
    const rules = await follow(fileRuleSource(file, { pollIntervalMs: 60_000 }));
    expect(laneOf(rules, 'alice')).toBe('gray');

    let applied = nextApplied(rules);
    writeFileSync(file, laneRules('gray', 'bob'));
    expect(await applied).toMatchObject({ revision: 2 });
    expect(laneOf(rules, 'bob')).toBe('gray');

    applied = nextApplied(rules);
    writeFileSync(join(dir, '.rules.yaml.tmp'), laneRules('blue', 'carol'));
    renameSync(join(dir, '.rules.yaml.tmp'), file);
    expect(await applied).toMatchObject({ revision: 3 });
    expect(laneOf(rules, 'carol')).toBe('blue');
    expect(rules.status()).toMatchObject({ state: 'ok', source: { kind: 'file', location: file } });
  });

  test('an invalid edit keeps the last good rules until the file is fixed', async () => {
    const file = join(dir, 'rules.yaml');
    writeFileSync(file, laneRules('gray', 'alice'));
    const rules = await follow(fileRuleSource(file));

    writeFileSync(file, 'lanes:\n  - tag: -gray-\n');
    await eventually(() => rules.status().state === 'degraded', 'the rejection');
    expect(laneOf(rules, 'alice')).toBe('gray');
    expect(rules.status().lastError?.issues[0]?.path).toBe('documents[0].lanes[0].tag');

    const applied = nextApplied(rules);
    writeFileSync(file, laneRules('gray', 'bob'));
    await applied;
    expect(rules.status()).toMatchObject({ state: 'ok', revision: 2 });
  });

  test('a deleted file keeps the last good rules; a recreated one applies', async () => {
    const file = join(dir, 'rules.yaml');
    writeFileSync(file, laneRules('gray', 'alice'));
    const rules = await follow(fileRuleSource(file));

    unlinkSync(file);
    await eventually(() => rules.status().state === 'missing', 'the deletion');
    expect(laneOf(rules, 'alice')).toBe('gray');

    const applied = nextApplied(rules);
    writeFileSync(file, laneRules('gray', 'bob'));
    await applied;
    expect(laneOf(rules, 'bob')).toBe('gray');
  });

  test('polls when the folder cannot be watched (here: it does not exist yet)', async () => {
    const file = join(dir, 'later', 'rules.yaml');
    const rules = await follow(fileRuleSource(file, { pollIntervalMs: 50 }), { onMissing: 'base' });
    expect(rules.status().state).toBe('missing');

    const applied = nextApplied(rules);
    mkdirSync(join(dir, 'later'));
    writeFileSync(file, laneRules('gray', 'alice'));
    await applied;
    expect(laneOf(rules, 'alice')).toBe('gray');
  });

  test('a missing file reads as no rules; a directory at the path rejects', async () => {
    await expect(fileRuleSource(join(dir, 'none.yaml')).load()).resolves.toBeUndefined();
    await expect(fileRuleSource(dir).load()).rejects.toMatchObject({ code: ErrorCode.CONFIG_INVALID, message: expect.stringContaining('a directory') });
  });

  test('a FIFO at the rules path is never opened: load rejects at once, and reloading resumes when a file replaces it', async () => {
    const file = join(dir, 'rules.yaml');
    execFileSync('mkfifo', [file]);
    try {
      const started = Date.now();
      await expect(fileRuleSource(file, { settleMs: 10 }).load()).rejects.toMatchObject({ code: ErrorCode.CONFIG_INVALID, message: expect.stringContaining('a FIFO') });
      expect(Date.now() - started).toBeLessThan(1000);

      unlinkSync(file);
      writeFileSync(file, laneRules('gray', 'alice'));
      const rules = await follow(fileRuleSource(file, { pollIntervalMs: 50, debounceMs: 20, settleMs: 20 }));
      expect(laneOf(rules, 'alice')).toBe('gray');

      unlinkSync(file);
      execFileSync('mkfifo', [file]);
      await eventually(() => logs.lines.some((line) => line.level === 'warn' && line.message.includes('a FIFO')), 'the FIFO diagnostic');
      expect(laneOf(rules, 'alice')).toBe('gray'); // the last good rules stay

      const applied = nextApplied(rules);
      unlinkSync(file);
      writeFileSync(file, laneRules('gray', 'bob'));
      await applied;
      expect(laneOf(rules, 'bob')).toBe('gray');
    } finally {
      releaseFifo(file);
    }
  });

  test('a file written in place in slow pieces is never applied half-written', async () => {
    const file = join(dir, 'rules.yaml');
    writeFileSync(file, laneRules('gray', 'alice'));
    // The pause between the pieces (180 ms) is longer than the debounce, so a source without the
    // settle read would take the first piece alone; the settle is long enough that the pause stays
    // inside debounce + settle even when this machine is loaded and the test's own timer runs late.
    const rules = await follow(fileRuleSource(file, { pollIntervalMs: 50, debounceMs: 100, settleMs: 1000 }));
    const seen: (string | undefined)[] = [];
    rules.onChange(() => seen.push(laneOf(rules, 'bob')));
    // The whole new file sends nobody to gray (percentage 0); its first piece alone would send bob.
    const pieces = [
      'lanes:\n  - tag: gray\n    match:\n      - { type: header, name: x-user, operator: "==", value: bob }\n',
      '    percentage: 0\n',
    ];
    const applied = nextApplied(rules);
    writeFileSync(file, pieces[0]!);
    await new Promise((resolve) => setTimeout(resolve, 180)); // longer than the debounce, far shorter than debounce + settle
    appendFileSync(file, pieces[1]!);
    await applied;
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(seen).toEqual([undefined]);
    expect(laneOf(rules, 'bob')).toBeUndefined();
    expect(laneOf(rules, 'alice')).toBeUndefined();
  });

  test('invalid options fail at creation', () => {
    expect(() => fileRuleSource('')).toThrow(expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }));
    expect(() => fileRuleSource('rules.yaml', { pollIntervalMs: -1 })).toThrow(/pollIntervalMs/);
    expect(() => fileRuleSource('rules.yaml', { debounceMs: Number.NaN })).toThrow(/debounceMs/);
    expect(() => fileRuleSource('rules.yaml', { settleMs: 0 })).toThrow(/settleMs/);
  });
});

describe('rulesFromEnv', () => {
  test('GRAYLANE_RULES_FILE is a file source', () => {
    const source = rulesFromEnv({ GRAYLANE_RULES_FILE: join(dir, 'rules.yaml') });
    expect(source).toMatchObject({ kind: 'file', location: join(dir, 'rules.yaml') });
  });

  test('GRAYLANE_RULES_DATA_ID is a Nacos source in GRAYLANE_RULES_GROUP, default DEFAULT_GROUP (not NACOS_GROUP)', async () => {
    const inDefault = rulesFromEnv({ GRAYLANE_RULES_DATA_ID: 'rules.yaml', NACOS_SERVER_ADDR: '127.0.0.1:8848', NACOS_GROUP: 'services' });
    const inGroup = rulesFromEnv({ GRAYLANE_RULES_DATA_ID: 'rules.yaml', GRAYLANE_RULES_GROUP: 'LANES', NACOS_SERVER_ADDR: '127.0.0.1:8848' });
    expect(inDefault).toMatchObject({ kind: 'nacos', location: 'DEFAULT_GROUP/rules.yaml' });
    expect(inGroup).toMatchObject({ kind: 'nacos', location: 'LANES/rules.yaml' });
    await Promise.all([inDefault?.close?.(), inGroup?.close?.()]);
  });

  test("startGraylane({ rules: 'env' }) follows GRAYLANE_RULES_FILE", async () => {
    const file = join(dir, 'rules.yaml');
    writeFileSync(file, laneRules('gray', 'alice'));
    const saved = process.env['GRAYLANE_RULES_FILE'];
    process.env['GRAYLANE_RULES_FILE'] = file;
    try {
      const graylane = await startGraylane({ service: 'gateway', registry: createMemoryRegistry(), rules: 'env' });
      expect(graylane.rules.status()).toMatchObject({ state: 'ok', source: { kind: 'file', location: file } });
      expect(laneOf(graylane.rules, 'alice')).toBe('gray');
      await graylane.shutdown();
    } finally {
      if (saved === undefined) delete process.env['GRAYLANE_RULES_FILE'];
      else process.env['GRAYLANE_RULES_FILE'] = saved;
    }
  });

  test('nothing set is no source; ambiguous or incomplete settings are configuration errors', () => {
    expect(rulesFromEnv({})).toBeUndefined();
    expect(() => rulesFromEnv({ GRAYLANE_RULES_FILE: 'a.yaml', GRAYLANE_RULES_DATA_ID: 'a.yaml' })).toThrow(
      expect.objectContaining({ code: ErrorCode.CONFIG_INVALID, message: 'set GRAYLANE_RULES_FILE or GRAYLANE_RULES_DATA_ID, not both' }),
    );
    expect(() => rulesFromEnv({ GRAYLANE_RULES_DATA_ID: 'a.yaml' })).toThrow(
      expect.objectContaining({ code: ErrorCode.CONFIG_INVALID, details: { variables: ['GRAYLANE_RULES_DATA_ID', 'NACOS_SERVER_ADDR'] } }),
    );
  });
});
