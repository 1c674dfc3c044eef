import { Bench } from 'tinybench';
import { compileMatcher, requestView } from '@graylane/matcher';
import type { RequestParts } from '@graylane/matcher';
import type { LaneRuleSet } from '@graylane/rules';
import { validateRules } from '@graylane/rules';

/** Requests per timed sample: one match is far below the timer's resolution. */
const BATCH = 1000;

/**
 * Ten lanes of five AND'ed conditions each (header ==, path prefix, cookie in, header regex, query
 * ==). Every lane's first four conditions hold for the benchmark requests and the fifth decides, so
 * every request evaluates all 50 predicates: the worst case for a rule set of this size.
 */
function ruleSet(): LaneRuleSet {
  const lanes = Array.from({ length: 10 }, (_, i) => ({
    tag: `lane-${i}`,
    match: [
      {
        all: [
          { type: 'header', name: 'x-env', operator: '==', value: 'prod' },
          { type: 'path', operator: 'prefix', value: '/api/' },
          { type: 'cookie', name: 'region', operator: 'in', values: ['cn-hangzhou', 'cn-beijing'] },
          { type: 'header', name: 'x-user-id', operator: 'regex', value: '^u[0-9]+$' },
          { type: 'query', name: 'group', operator: '==', value: `lane-${i}` },
        ],
      },
    ],
  }));
  const result = validateRules({ lanes });
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.rules;
}

/** A raw request, as a server hands it over: the view over it is built per request, in the timed loop. */
function request(group: string): RequestParts {
  return {
    method: 'GET',
    path: '/api/orders',
    host: 'www.demo.com',
    headers: { 'X-Env': 'prod', 'X-User-Id': 'u12345' },
    query: { group },
    cookies: { region: 'cn-hangzhou' },
  };
}

/**
 * The rules benchmark's lanes as a rule set: lane `i` takes `x-user-id: user-<i>`, or `?g=a<i>`
 * (or `b<i>`) with an `x-env` matching `^env-<i>-[a-z]+$`: every rule keyed on a field's value.
 */
function largeRuleSet(n: number): LaneRuleSet {
  const lanes = Array.from({ length: n }, (_, i) => ({
    tag: `lane-${i}`,
    match: [
      { type: 'header', name: 'x-user-id', operator: '==', value: `user-${i}` },
      { all: [{ type: 'query', name: 'g', operator: 'in', values: [`a${i}`, `b${i}`] }, { type: 'header', name: 'x-env', operator: 'regex', value: `^env-${i}-[a-z]+$` }] },
    ],
  }));
  const result = validateRules({ lanes });
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.rules;
}

/**
 * Median nanoseconds per request of building its `RequestView` and calling `LaneMatcher.match` on a
 * 10-lane × 5-condition rule set, for a request matching the last lane and for one matching none.
 * A gateway builds one view per request, so the view is built inside the timed loop (a view reused
 * across iterations would hide its construction and any lazy parsing). Tasks are interleaved by
 * tinybench's run order and results are consumed so V8 cannot drop the work.
 */
export async function benchMatch(): Promise<{ matchLastNs: number; matchNoneNs: number }> {
  return timeMatch(ruleSet(), 'lane-9', request('lane-9'), request('nobody'));
}

/**
 * The same on 10,000 lanes (20,000 rules) of the rules benchmark's shape, for a request matching
 * the last lane by its `x-user-id` and one matching none (its `x-user-id` and `g` are no lane's).
 */
export async function benchMatchLarge(): Promise<{ matchLastNs: number; matchNoneNs: number }> {
  const n = 10_000;
  const at = (user: string): RequestParts => ({ method: 'GET', path: '/api/orders', host: 'www.demo.com', headers: { 'x-user-id': user, 'x-env': 'env-1-a' }, query: { g: 'zz' } });
  return timeMatch(largeRuleSet(n), `lane-${n - 1}`, at(`user-${n - 1}`), at('nobody'));
}

async function timeMatch(rules: LaneRuleSet, lane: string, last: RequestParts, none: RequestParts): Promise<{ matchLastNs: number; matchNoneNs: number }> {
  const matcher = compileMatcher(rules);
  if (matcher.match(requestView(last)) !== lane || matcher.match(requestView(none)) !== undefined) throw new Error('benchmark rules are wrong');
  let sink = 0;
  const batch = (req: RequestParts) => () => {
    for (let i = 0; i < BATCH; i++) if (matcher.match(requestView(req)) !== undefined) sink++;
  };
  const bench = new Bench({ time: 1000, warmupTime: 200 });
  bench.add('match last lane', batch(last)).add('match none', batch(none));
  await bench.run();
  if (sink === 0) throw new Error('results were not consumed');
  const medianNs = (name: string): number => {
    const result = bench.getTask(name)?.result;
    if (!result || !('latency' in result)) throw new Error(`${name} did not complete`);
    return (result.latency.p50 * 1e6) / BATCH;
  };
  return { matchLastNs: medianNs('match last lane'), matchNoneNs: medianNs('match none') };
}
