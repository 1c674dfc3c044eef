import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, isGraylaneError } from '@graylane/core';
import { fallbackPolicy, parseRules, parseRulesInWorker } from '../src/index.js';

// The worker loads this package's built CommonJS output (dist), as an installed copy would.
const lanes = (n: number) =>
  `lanes:\n${Array.from({ length: n }, (_, i) => `  - tag: lane-${i}\n    fallback: [rc]\n    match: [{ type: header, name: x-user, operator: '==', value: 'u${i}' }]`).join('\n')}\n`;

describe('parseRulesInWorker', () => {
  it('gives what parseRules gives, lanes in order across its slices, with the fallback policy', async () => {
    const text = lanes(450); // three slices of lanes
    const expected = parseRules(text);
    const got = await parseRulesInWorker(text);
    expect(got.rules).toEqual(expected.rules);
    expect(got.warnings).toEqual(expected.warnings);
    expect(got.policy).toEqual(fallbackPolicy(expected.rules));
    expect(got.md5).toBe(createHash('md5').update(text, 'utf8').digest('hex'));
  });

  it('rejects invalid rules with the same typed error and every issue', async () => {
    const text = 'lanes:\n  - tag: "a b"\n  - tag: ok\n    strict: maybe\n';
    const error = await parseRulesInWorker(text, { source: 'x.yaml' }).catch((e: unknown) => e);
    expect(isGraylaneError(error)).toBe(true);
    expect((error as { code: string }).code).toBe(ErrorCode.RULE_INVALID);
    expect((error as Error).message).toContain('in x.yaml (2 problems)');
    expect(((error as { details: { issues: { path: string }[] } }).details.issues).map((i) => i.path)).toEqual([
      'documents[0].lanes[0].tag',
      'documents[0].lanes[1].strict',
    ]);
  });

  it('stops on abort: the worker is terminated and the promise rejects with the reason', async () => {
    const controller = new AbortController();
    const pending = parseRulesInWorker(lanes(3000), { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stop')), 20);
    await expect(pending).rejects.toThrow('stop');
  });

  it('parses one after another on the kept worker, concurrent calls each getting their own result', async () => {
    const texts = [lanes(120), lanes(7), 'lanes:\n  - tag: "a b"\n', lanes(60)];
    const results = await Promise.allSettled(texts.map((text) => parseRulesInWorker(text)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    const sizes = results.map((r) => (r.status === 'fulfilled' ? r.value.rules.lanes.length : -1));
    expect(sizes).toEqual([120, 7, -1, 60]);
    expect((results[3] as PromiseFulfilledResult<{ rules: unknown }>).value.rules).toEqual(parseRules(texts[3]!).rules);
  });

  it('parses again after an aborted parse (a new worker replaces the terminated one)', async () => {
    const controller = new AbortController();
    const aborted = parseRulesInWorker(lanes(3000), { signal: controller.signal });
    const queued = parseRulesInWorker(lanes(5));
    setTimeout(() => controller.abort(new Error('stop')), 20);
    await expect(aborted).rejects.toThrow('stop');
    expect((await queued).rules.lanes).toHaveLength(5);
    expect((await parseRulesInWorker(lanes(3))).rules.lanes).toHaveLength(3);
  });

  it('does not keep a process alive once its parse is done (execFileSync throws on its timeout)', () => {
    const script = [
      `const { parseRulesInWorker } = require(${JSON.stringify(join(__dirname, '..', 'dist', 'index.cjs'))});`,
      `parseRulesInWorker(${JSON.stringify(lanes(80))}).then((r) => console.log('parsed', r.rules.lanes.length));`,
    ].join('\n');
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(out.trim()).toBe('parsed 80');
  });

  // Linux only: elsewhere a priority is the whole process's, and the worker leaves it alone.
  (process.platform === 'linux' ? it : it.skip)('runs its thread at the lowest priority and leaves the rest of the process as it was', async () => {
    const nice = (task: string | number) => {
      const stat = readFileSync(`/proc/self/task/${task}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    };
    const mainBefore = nice(process.pid);
    await parseRulesInWorker(lanes(3));
    const niceByThread = readdirSync('/proc/self/task').map((task) => ({ task: Number(task), nice: nice(task) }));
    expect(niceByThread.filter((t) => t.nice === 19 && t.task !== process.pid)).toHaveLength(1); // the one rules worker
    expect(nice(process.pid)).toBe(mainBefore);
  });
});
