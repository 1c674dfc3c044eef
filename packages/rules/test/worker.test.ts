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

  it('receives a text sent in pieces whole, a character cut between two pieces included', async () => {
    const piece = 256 * 1024;
    // A comment puts a character outside the BMP (two UTF-16 units) across the first cut.
    const head = `# ${'a'.repeat(piece - 3)}\u{1F600}\n`;
    const text = `${head}${lanes(6000).replace("value: 'u5999'", "value: 'u\u{1F600}'")}`;
    expect(text.length).toBeGreaterThan(2 * piece);
    expect(text.charCodeAt(piece - 1)).toBe(0xd83d); // the pair's first half ends the first piece
    const got = await parseRulesInWorker(text);
    expect(got.rules).toEqual(parseRules(text).rules);
    expect(got.rules.lanes[5999]?.match[0]?.condition).toMatchObject({ value: 'u\u{1F600}' });
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

  it('stops on abort: the worker is stopped and the promise rejects with the reason', async () => {
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

  it('parses again after an aborted parse (a new worker replaces the stopped one)', async () => {
    const controller = new AbortController();
    const aborted = parseRulesInWorker(lanes(3000), { signal: controller.signal });
    const queued = parseRulesInWorker(lanes(5));
    setTimeout(() => controller.abort(new Error('stop')), 20);
    await expect(aborted).rejects.toThrow('stop');
    expect((await queued).rules.lanes).toHaveLength(5);
    expect((await parseRulesInWorker(lanes(3))).rules.lanes).toHaveLength(3);
  });

  describe('with `previous`', () => {
    const lane = (tag: string, user: string) => `  - tag: ${tag}\n    fallback: [rc]\n    match: [{ type: header, name: x-user, operator: '==', value: '${user}' }]`;
    const doc = (entries: readonly string[]) => `lanes:\n${entries.join('\n')}\n`;
    const many = Array.from({ length: 120 }, (_, i) => lane(`lane-${i}`, `u${i}`));

    it('gives what parseRules gives; a lane equal to one of the earlier result is that lane object, a changed one is new', async () => {
      const first = await parseRulesInWorker(doc(many));
      const revised = many.map((entry, i) => (i % 10 === 0 ? lane(`lane-${i}`, `changed-${i}`) : entry));
      const text = doc(revised);
      const got = await parseRulesInWorker(text, { previous: first });
      expect(got.rules).toEqual(parseRules(text).rules);
      expect(got.policy).toEqual(fallbackPolicy(parseRules(text).rules));
      got.rules.lanes.forEach((l, i) => {
        if (i % 10 === 0) expect(first.rules.lanes).not.toContain(l);
        else expect(l).toBe(first.rules.lanes[i]);
      });
    });

    it('keeps the earlier policy object when no lane\'s place, tag, fallback or strictness changed, and only then', async () => {
      const first = await parseRulesInWorker(doc(many));
      const changedMatch = await parseRulesInWorker(doc(many.map((e, i) => (i === 7 ? lane('lane-7', 'other') : e))), { previous: first });
      expect(changedMatch.policy).toBe(first.policy);
      const withFallback = (entry: string) => entry.replace('fallback: [rc]', 'fallback: [rc2]');
      const changedChain = await parseRulesInWorker(doc(many.map((e, i) => (i === 7 ? withFallback(e) : e))), { previous: changedMatch });
      expect(changedChain.policy).not.toBe(first.policy);
      expect(changedChain.policy.fallback['lane-7']).toEqual(['rc2', 'base']);
      // The other lanes' chains are the earlier policy's arrays, frozen: a router tells them by identity.
      expect(changedChain.policy.fallback['lane-8']).toBe(first.policy.fallback['lane-8']);
      expect(Object.isFrozen(changedChain.policy.fallback['lane-8'])).toBe(true);
      expect(changedChain.policy.strict).toBe(first.policy.strict);
      const strict = await parseRulesInWorker(doc(many.map((e, i) => (i === 7 ? `${e}\n    strict: true` : e))), { previous: first });
      expect(strict.policy.strict).toEqual(['lane-7']);
      const moved = await parseRulesInWorker(doc([many[1]!, many[0]!, ...many.slice(2)]), { previous: first });
      expect(moved.policy).not.toBe(first.policy);
      expect(moved.policy).toEqual(first.policy);
      const fewer = await parseRulesInWorker(doc(many.slice(1)), { previous: first });
      expect(fewer.policy.fallback['lane-0']).toBeUndefined();
    });

    it('follows lanes that moved, were removed or added', async () => {
      const first = await parseRulesInWorker(doc(many));
      // Reversed, the first 20 gone, two new lanes.
      const text = doc([lane('new-a', 'na'), ...many.slice(20).reverse(), lane('new-b', 'nb')]);
      const got = await parseRulesInWorker(text, { previous: first });
      expect(got.rules).toEqual(parseRules(text).rules);
      const tags = got.rules.lanes.map((l) => l.tag);
      expect(tags[0]).toBe('new-a');
      expect(tags.at(-1)).toBe('new-b');
      got.rules.lanes.slice(1, -1).forEach((l, i) => expect(l).toBe(first.rules.lanes[119 - i]));
      expect(first.rules.lanes).not.toContain(got.rules.lanes[0]);
    });

    it('chains: the result of a parse with `previous` serves as the next one\'s', async () => {
      const first = await parseRulesInWorker(doc(many));
      const second = await parseRulesInWorker(doc([...many, lane('x', 'x')]), { previous: first });
      const third = await parseRulesInWorker(doc([...many, lane('y', 'y')]), { previous: second });
      expect(third.rules.lanes.slice(0, 120).every((l, i) => l === first.rules.lanes[i])).toBe(true);
      expect(third.rules.lanes[120]!.tag).toBe('y');
    });

    it('from a worker since replaced (after an abort), or not a worker result at all: every lane is sent, the result the same', async () => {
      const first = await parseRulesInWorker(doc(many));
      const controller = new AbortController();
      const aborted = parseRulesInWorker(lanes(3000), { signal: controller.signal });
      setTimeout(() => controller.abort(new Error('stop')), 20);
      await expect(aborted).rejects.toThrow('stop');
      const text = doc(many.slice(1));
      const afterRestart = await parseRulesInWorker(text, { previous: first });
      expect(afterRestart.rules).toEqual(parseRules(text).rules);
      expect(afterRestart.rules.lanes.some((l) => first.rules.lanes.includes(l))).toBe(false);
      const notFromWorker = { ...parseRules(doc(many)), policy: first.policy, md5: first.md5 };
      const fromPlain = await parseRulesInWorker(text, { previous: notFromWorker });
      expect(fromPlain.rules).toEqual(parseRules(text).rules);
      expect(fromPlain.rules.lanes.some((l) => notFromWorker.rules.lanes.includes(l))).toBe(false);
    });

    it('from a result the worker no longer keeps (three newer ones since): every lane is sent, the result the same', async () => {
      const first = await parseRulesInWorker(doc(many));
      for (let i = 0; i < 3; i++) await parseRulesInWorker(lanes(2 + i));
      const text = doc(many.slice(0, 60));
      const got = await parseRulesInWorker(text, { previous: first });
      expect(got.rules).toEqual(parseRules(text).rules);
      expect(got.rules.lanes.some((l) => first.rules.lanes.includes(l))).toBe(false);
    });
  });

  it('does not keep a process alive once its parse is done (execFileSync throws on its timeout)', () => {
    const script = [
      `const { parseRulesInWorker } = require(${JSON.stringify(join(__dirname, '..', 'dist', 'index.cjs'))});`,
      `parseRulesInWorker(${JSON.stringify(lanes(80))}).then((r) => console.log('parsed', r.rules.lanes.length));`,
    ].join('\n');
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(out.trim()).toBe('parsed 80');
  });

  // Linux only (/proc): the worker's threads, and the children of a process.
  const linux = process.platform === 'linux' ? it : it.skip;
  const statOf = (path: string) => {
    const stat = readFileSync(path, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  };
  /** Processes whose parent is `pid`. */
  const childrenOf = (pid: number) =>
    readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .flatMap((entry) => {
        try {
          return Number(statOf(`/proc/${entry}/stat`)[1]) === pid ? [Number(entry)] : [];
        } catch {
          return []; // gone meanwhile
        }
      });
  const nices = (pid: number) => readdirSync(`/proc/${pid}/task`).map((task) => Number(statOf(`/proc/${pid}/task/${task}/stat`)[16]));

  linux('runs in a process of its own, every thread of it at the lowest priority, and leaves the calling process as it was', async () => {
    const before = nices(process.pid);
    await parseRulesInWorker(lanes(3));
    const workers = childrenOf(process.pid).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--single-threaded-gc'));
    expect(workers).toHaveLength(1);
    const threads = nices(workers[0]!);
    expect(threads.length).toBeGreaterThan(0);
    expect(threads.every((nice) => nice === 19)).toBe(true);
    expect(nices(process.pid).sort()).toEqual(before.sort());
  });

  linux('exits with the process it serves', async () => {
    const script = [
      `const { parseRulesInWorker } = require(${JSON.stringify(join(__dirname, '..', 'dist', 'index.cjs'))});`,
      `const { readdirSync, readFileSync } = require('node:fs');`,
      `parseRulesInWorker(${JSON.stringify(lanes(5))}).then(() => {`,
      `  const mine = readdirSync('/proc').filter((e) => /^\\d+$/.test(e)).filter((e) => { try { const s = readFileSync('/proc/' + e + '/stat', 'utf8'); return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]) === process.pid; } catch { return false; } });`,
      `  console.log(mine.join(','));`,
      `});`,
    ].join('\n');
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
    const workers = out.trim().split(',').filter(Boolean).map(Number);
    expect(workers).toHaveLength(1);
    const alive = (pid: number) => {
      try {
        return statOf(`/proc/${pid}/stat`)[0] !== 'Z';
      } catch {
        return false; // gone
      }
    };
    const deadline = Date.now() + 5000;
    while (alive(workers[0]!) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(alive(workers[0]!)).toBe(false);
  });
});
