// Rule contents above PARSE_IN_WORKER_CHARS: parsed on the rules worker (which loads the built
// dist of @graylane/rules, as an installed copy does), compiled in slices, swapped in whole.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { requestView } from '@graylane/matcher';
import { PARSE_IN_WORKER_CHARS, fallbackPolicy, parseRules } from '@graylane/rules';
import { createRouter } from '@graylane/router';
import { createRulesManager, followRulesPolicy } from '../src/index.js';
import type { RulesManager } from '../src/index.js';
import { captureDiag, nextApplied, testSource } from './support/rules.js';

/** `n` lanes; lane i takes user `<tag>-i`, and has a regex on x-env. */
function large(n: number, tag: string): string {
  const lanes = Array.from(
    { length: n },
    (_, i) => `  - tag: ${tag}-${i}\n    fallback: [rc]\n    match:\n      - { type: header, name: x-user, operator: '==', value: '${tag}-${i}' }\n      - { type: header, name: x-env, operator: regex, value: '^${tag}-${i}-[a-z]+$' }`,
  );
  return `lanes:\n${lanes.join('\n')}\n`;
}

const LANES = 2000;
const laneOf = (manager: RulesManager, user: string) => manager.matcher()?.match(requestView({ headers: { 'x-user': user } }));

let logs: ReturnType<typeof captureDiag>;
const managers: RulesManager[] = [];
beforeEach(() => {
  logs = captureDiag();
});
afterEach(async () => {
  await Promise.all(managers.splice(0).map((manager) => manager.close()));
  logs.stop();
});

/** A manager on a test source holding `text`, closed after the test. */
function manage(text: string): { source: ReturnType<typeof testSource>; rules: RulesManager } {
  const source = testSource(text);
  const rules = createRulesManager(source);
  managers.push(rules);
  return { source, rules };
}

describe('a rules manager on a large content', () => {
  test('the fixture is large enough to take the off-thread path', () => {
    expect(large(LANES, 'a').length).toBeGreaterThan(PARSE_IN_WORKER_CHARS);
  });

  test('loads and reloads it while the event loop keeps running, with the same decisions and policy as a synchronous parse', async () => {
    const { source, rules } = manage(large(LANES, 'a'));
    let ticks = 0;
    const probe = setInterval(() => ticks++, 1);
    try {
      await rules.ready();
      expect(laneOf(rules, `a-${LANES - 1}`)).toBe(`a-${LANES - 1}`);
      expect(rules.current()?.policy).toEqual(fallbackPolicy(parseRules(large(LANES, 'a')).rules));
      expect(rules.current()?.policy.fallback['a-0']).toEqual(['rc', 'base']);
      const ticksAtLoad = ticks;
      const next = nextApplied(rules, 20_000);
      source.publish(large(LANES, 'b'));
      // Nothing is swapped until the new rules are whole: the old ones serve meanwhile.
      expect(laneOf(rules, 'a-7')).toBe('a-7');
      const applied = await next;
      expect(applied.revision).toBe(2);
      expect(ticks).toBeGreaterThan(ticksAtLoad); // the loop ran during the reload
      expect(laneOf(rules, 'a-7')).toBeUndefined();
      expect(laneOf(rules, 'b-7')).toBe('b-7');
      expect(rules.matcher()?.match(requestView({ headers: { 'x-env': 'b-9-xyz' } }))).toBe('b-9');
      expect(rules.status()).toMatchObject({ state: 'ok', revision: 2 });
    } finally {
      clearInterval(probe);
    }
  }, 30_000);

  test('a reload that changes a few lanes keeps every other lane object, and decides as the new content says', async () => {
    /** Lanes 0, 100, 200... take user `a-<i>-v<version>`. */
    const revised = (version: number) => {
      let text = large(LANES, 'a');
      for (let i = 0; i < LANES; i += 100) text = text.replace(`value: 'a-${i}' }`, `value: 'a-${i}-v${version}' }`);
      return text;
    };
    const { source, rules } = manage(large(LANES, 'a'));
    await rules.ready();
    const first = rules.current()!.rules.lanes;
    for (const version of [1, 2]) {
      const before = rules.current()!.rules.lanes;
      const next = nextApplied(rules, 20_000);
      source.publish(revised(version));
      const { rules: now, policy } = await next;
      expect(now).toEqual(parseRules(revised(version)).rules);
      expect(policy).toEqual(fallbackPolicy(now));
      now.lanes.forEach((lane, i) => {
        if (i % 100 === 0) expect(before).not.toContain(lane);
        else expect(lane).toBe(first[i]);
      });
      expect(laneOf(rules, `a-100-v${version}`)).toBe('a-100');
      expect(laneOf(rules, 'a-100')).toBeUndefined();
      expect(laneOf(rules, 'a-101')).toBe('a-101');
      expect(rules.matcher()?.match(requestView({ headers: { 'x-env': 'a-100-xyz' } }))).toBe('a-100');
    }
  }, 30_000);

  test('followRulesPolicy sets the policy at once and with each revision that changed it, not again for one that kept it', async () => {
    const { source, rules } = manage(large(LANES, 'a'));
    await rules.ready();
    const set: unknown[] = [];
    const unfollow = followRulesPolicy({ setPolicy: (policy) => void set.push(policy) }, rules);
    expect(set).toEqual([rules.current()!.policy]);
    let next = nextApplied(rules, 20_000);
    source.publish(large(LANES, 'a').replace("value: 'a-3' }", "value: 'a-3-new' }")); // a match, not a chain
    expect((await next).revision).toBe(2);
    expect(set).toHaveLength(1);
    next = nextApplied(rules, 20_000);
    source.publish(large(LANES, 'a').replace('  - tag: a-3\n    fallback: [rc]', '  - tag: a-3\n    fallback: [rc2]'));
    const applied = await next;
    expect(set).toHaveLength(2);
    expect(set[1]).toBe(applied.policy);
    expect(applied.policy.fallback['a-3']).toEqual(['rc2', 'base']);
    unfollow();
  }, 30_000);

  test('a router following the rules routes by the chains of each revision', async () => {
    const { source, rules } = manage(large(LANES, 'a'));
    await rules.ready();
    const router = createRouter(undefined);
    const at = (port: number, lane?: string) => ({ id: `127.0.0.1:${port}`, service: 'orders', host: '127.0.0.1', port, lane, weight: 1, healthy: true, enabled: true, metadata: {} });
    router.update('orders', [at(1), at(2, 'rc'), at(3, 'rc2')]);
    const unfollow = followRulesPolicy(router, rules);
    const served = (lane: string) => router.select('orders', lane).servedLane;
    expect([served('a-3'), served('a-4')]).toEqual(['rc', 'rc']);
    const next = nextApplied(rules, 20_000);
    source.publish(large(LANES, 'a').replace('  - tag: a-3\n    fallback: [rc]', '  - tag: a-3\n    fallback: [rc2]').replace('  - tag: a-5\n    fallback: [rc]', '  - tag: a-5\n    fallback: []'));
    await next;
    expect([served('a-3'), served('a-4'), served('a-5')]).toEqual(['rc2', 'rc', undefined]);
    unfollow();
    router.close();
  }, 30_000);

  test('after a build superseded mid-way, the next reload is whole and right', async () => {
    const { source, rules } = manage(large(LANES, 'a'));
    await rules.ready();
    const applied = nextApplied(rules, 20_000);
    source.publish(large(LANES, 'b'));
    await new Promise((resolve) => setTimeout(resolve, 30)); // the worker is parsing b
    source.publish(large(LANES, 'a').replace("value: 'a-3' }", "value: 'a-3-new' }"));
    const { rules: now } = await applied;
    expect(now).toEqual(parseRules(large(LANES, 'a').replace("value: 'a-3' }", "value: 'a-3-new' }")).rules);
    expect(laneOf(rules, 'a-3-new')).toBe('a-3');
    expect(laneOf(rules, 'b-3')).toBeUndefined();
    expect(laneOf(rules, 'a-4')).toBe('a-4');
  }, 30_000);

  test('a newer content supersedes one still being built: only the newest is applied, as one revision', async () => {
    const { source, rules } = manage(large(LANES, 'a'));
    await rules.ready();
    const revisions: number[] = [];
    rules.onChange(({ revision }) => revisions.push(revision));
    const applied = nextApplied(rules, 20_000);
    source.publish(large(LANES, 'b'));
    source.publish(large(LANES, 'c'));
    expect((await applied).revision).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(revisions).toEqual([2]);
    expect(laneOf(rules, 'c-3')).toBe('c-3');
    expect(laneOf(rules, 'b-3')).toBeUndefined();
  }, 30_000);

  test('an invalid large content is rejected with every problem; the last good rules stay', async () => {
    const { source, rules } = manage(large(LANES, 'a'));
    await rules.ready();
    const broken = large(LANES, 'b').replace("tag: b-5\n", 'tag: "b 5"\n').replace("operator: regex, value: '^b-9-[a-z]+$'", "operator: regex, value: '(x)\\1'");
    source.publish(broken);
    const deadline = Date.now() + 20_000;
    while (rules.status().state !== 'degraded' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const status = rules.status();
    expect(status.state).toBe('degraded');
    expect(status.revision).toBe(1);
    expect(laneOf(rules, 'a-5')).toBe('a-5');
    // Every problem, each with its path, in one pass.
    expect(status.lastError?.issues.filter((issue) => issue.severity === 'error').map((issue) => issue.path)).toEqual(['documents[0].lanes[5].tag', 'documents[0].lanes[9].match[1].value']);
  }, 30_000);

  test('a large content back to the one in force after a rejection is restored without a rebuild', async () => {
    const good = large(LANES, 'a');
    const { source, rules } = manage(good);
    await rules.ready();
    source.publish('lanes: [');
    expect(rules.status().state).toBe('degraded');
    source.publish(good);
    expect(rules.status()).toMatchObject({ state: 'ok', revision: 1 });
  }, 30_000);

  test('what a revision replaced is collected: its matcher, its rules and its policy (large and small contents)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // Revisions made, and weakly held, in a function of their own: an async function's frame may
    // keep what its suspended locals last held.
    const replaceThrice = async (lanes: number): Promise<{ rules: RulesManager; refs: WeakRef<object>[] }> => {
      const { source, rules } = manage(large(lanes, 'a0'));
      await rules.ready();
      const refs: WeakRef<object>[] = [];
      for (const tag of ['a1', 'a2', 'a3']) {
        const { matcher, rules: ruleSet, policy } = rules.current()!;
        refs.push(new WeakRef(matcher), new WeakRef(ruleSet), new WeakRef(policy));
        const next = nextApplied(rules, 20_000);
        source.publish(large(lanes, tag)); // every lane replaced
        await next;
      }
      return { rules, refs };
    };
    for (const lanes of [LANES, 5]) {
      const { rules, refs } = await replaceThrice(lanes);
      expect(laneOf(rules, `a3-${lanes - 1}`)).toBe(`a3-${lanes - 1}`);
      // Collections 10 ms apart, up to 20: what is looked for is a revision that never goes (a
      // WeakRef's target lives until the job that made it ends, and one collection may only finish
      // an incremental marking under way).
      let gone = refs.map(() => false);
      for (let i = 0; i < 20 && gone.includes(false); i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        gc();
        gone = refs.map((ref) => ref.deref() === undefined);
      }
      expect(gone).toEqual(refs.map(() => true));
    }
  }, 60_000);
});
