import { context, trace } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ErrorCode } from '@graylane/core';
import { createCarriers, createLaneTrail, ensureContextManager, getLaneTrail, setLaneTrail, withLane } from '@graylane/context';
import { createRouter } from '@graylane/router';
import type { LaneRouter, RetryOptions as DeprecatedRetryOptions, Selection } from '@graylane/router';
import { createOutbound } from '../src/index.js';
import type { HeaderAccess, OutboundOptions, RetryOptions } from '../src/index.js';
import { instance } from '@graylane/testing';

/** A request of a made-up client: headers in a Map under the names given, matched case-insensitively. */
interface FakeRequest {
  headers: Map<string, string | string[]>;
  sets: string[];
}

const keyOf = (req: FakeRequest, name: string) => [...req.headers.keys()].find((key) => key.toLowerCase() === name);
const FAKE_HEADERS: HeaderAccess<FakeRequest> = {
  get: (req, name) => req.headers.get(keyOf(req, name) ?? name),
  set(req, name, value) {
    const key = keyOf(req, name);
    if (key !== undefined) req.headers.delete(key);
    req.headers.set(name, value);
    req.sets.push(name);
  },
  delete(req, name) {
    const key = keyOf(req, name);
    if (key !== undefined) req.headers.delete(key);
  },
};

const request = (headers: Record<string, string> = {}): FakeRequest => ({ headers: new Map(Object.entries(headers)), sets: [] });
const connectFailure = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', syscall: 'connect' });
const reset = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

describe('createOutbound', () => {
  let router: LaneRouter;
  let selections: Selection[];
  const options = (more: Partial<OutboundOptions> = {}): OutboundOptions => ({ router, onSelect: (s) => selections.push(s), ...more });

  beforeAll(() => ensureContextManager());

  beforeEach(() => {
    selections = [];
    router = createRouter(undefined);
    router.update('b', [instance('b', 1, 'gray'), instance('b', 2, 'gray'), instance('b', 3, undefined)]);
  });

  afterEach(() => router.close());

  test('routes the hosts the router knows and those named in `services`, nothing else', () => {
    const outbound = createOutbound(options({ services: ['later'] }), { retriesResets: true });
    expect(outbound.router).toBe(router);
    expect(outbound.routes('b')).toBe(true);
    expect(outbound.routes('later')).toBe(true);
    expect(outbound.routes('example.com')).toBe(false);
    expect(outbound.routes(undefined)).toBe(false);
    expect(outbound.routes(null)).toBe(false);
  });

  test('a call reads the lane, the span and the trail of the context it starts in', () => {
    const outbound = createOutbound(options(), { retriesResets: true });
    const span = new BasicTracerProvider().getTracer('t').startSpan('call');
    const trail = createLaneTrail({ service: 'a' });
    const call = context.with(setLaneTrail(trace.setSpan(context.active(), span), trail), () => withLane('gray', () => outbound.start('b')));
    expect(call).toMatchObject({ service: 'b', lane: 'gray', span, trail });
    expect(getLaneTrail()).toBeUndefined();
    expect(outbound.start('b')).toMatchObject({ lane: undefined, span: undefined, trail: undefined });
  });

  test("select hands back the router's own promise: no promise turn of graylane's in between", () => {
    const outbound = createOutbound(options(), { retriesResets: true });
    const pending = Promise.resolve(router.select('b', 'gray'));
    const selectAsync = jest.spyOn(router, 'selectAsync').mockReturnValue(pending);
    const call = withLane('gray', () => outbound.start('b'));
    expect(call.select()).toBe(pending);
    expect(selectAsync).toHaveBeenCalledWith('b', 'gray');
  });

  test('selectNow selects at once from a listed service, says undefined for one not listed yet, and throws what select rejects with', () => {
    const outbound = createOutbound(options(), { retriesResets: true });
    expect(withLane('gray', () => outbound.start('b')).selectNow()).toMatchObject({ service: 'b', servedLane: 'gray' });
    expect(outbound.start('unlisted').selectNow()).toBeUndefined();
    router.update('empty', []);
    expect(() => outbound.start('empty').selectNow()).toThrow(expect.objectContaining({ code: ErrorCode.NO_INSTANCE }));
  });

  test('selected reports the selection and arms retries for an allowed method with a replayable body only', () => {
    const outbound = createOutbound(options(), { retriesResets: true });
    const first = router.select('b', 'gray');
    const call = outbound.start('b');
    expect(call.selected(first, 'GET')).toBe(true);
    expect(selections).toEqual([first]);
    expect(outbound.start('b').selected(first, 'POST')).toBe(false);
    expect(outbound.start('b').selected(first, undefined, false)).toBe(false);
    expect(createOutbound(options({ retry: false }), { retriesResets: true }).start('b').selected(first, 'GET')).toBe(false);
    expect(selections).toHaveLength(4);
  });

  test('retryAfter selects and reports the next instance of the lane for a connection failure, then falls back to base', () => {
    const outbound = createOutbound(options(), { retriesResets: true });
    const span = new BasicTracerProvider().getTracer('t').startSpan('call');
    const call = context.with(trace.setSpan(context.active(), span), () => withLane('gray', () => outbound.start('b')));
    const first = router.select('b', 'gray');
    call.selected(first, 'GET');
    const second = call.retryAfter(connectFailure());
    expect(second).toMatchObject({ servedLane: 'gray', fallback: [] });
    expect(second?.instance.id).not.toBe(first.instance.id);
    const third = call.retryAfter(connectFailure());
    expect(third).toMatchObject({ servedLane: undefined, instance: { port: 3 }, fallback: [{ lane: 'gray', reason: 'connect-failed' }] });
    expect(call.retryAfter(connectFailure())).toBeUndefined(); // 2 retries by default
    expect(selections).toEqual([first, second, third]);
    expect((span as unknown as ReadableSpan).attributes).toMatchObject({ 'graylane.lane.served': 'base', 'graylane.retries': 2 });
  });

  test('retryAfter: resets only for a client that retries them, other errors never, and nothing unless armed', () => {
    const first = router.select('b', 'gray');
    const resetting = createOutbound(options(), { retriesResets: true }).start('b');
    resetting.selected(first, 'GET');
    expect(resetting.retryAfter(reset())).toBeDefined();
    const connectOnly = createOutbound(options(), { retriesResets: false }).start('b');
    connectOnly.selected(first, 'GET');
    expect(connectOnly.retryAfter(reset())).toBeUndefined();
    expect(connectOnly.retryAfter(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }))).toBeUndefined();
    expect(connectOnly.retryAfter(connectFailure())).toBeDefined();
    const unarmed = createOutbound(options(), { retriesResets: true }).start('b');
    unarmed.selected(first, 'POST');
    expect(unarmed.retryAfter(connectFailure())).toBeUndefined();
  });

  test("connect failures reach the router: with outlier ejection on, a failing instance is no longer chosen", () => {
    router.setPolicy({ outlier: { consecutiveFailures: 2 } });
    const reported = jest.spyOn(router, 'reportFailure');
    const outbound = createOutbound(options(), { retriesResets: true });
    const dead = router.select('b', 'gray').instance;
    // Two calls whose first attempt could not connect to the same gray instance.
    for (let i = 0; i < 2; i++) {
      const call = withLane('gray', () => outbound.start('b'));
      const first = Object.freeze({ ...router.select('b', 'gray'), instance: dead });
      call.selected(first, 'GET');
      expect(call.retryAfter(connectFailure())).toMatchObject({ servedLane: 'gray' });
    }
    expect(reported.mock.calls).toEqual([
      [dead, 'connect-failed'],
      [dead, 'connect-failed'],
    ]);
    expect(router.ejected('b')).toEqual([dead.id]);
    for (let i = 0; i < 10; i++) expect(router.select('b', 'gray').instance.id).not.toBe(dead.id);
    // A timeout is not the instance's failure; a reset is, retried or not; a call that is not
    // retried (a POST) still reports, because the router ejects outliers.
    reported.mockClear();
    const connectOnly = createOutbound(options(), { retriesResets: false }).start('b');
    const live = router.select('b', 'gray');
    expect(connectOnly.selected(live, 'GET')).toBe(true);
    expect(connectOnly.retryAfter(reset())).toBeUndefined();
    connectOnly.retryAfter(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }));
    const unarmed = createOutbound(options(), { retriesResets: true }).start('b');
    const post = router.select('b', 'gray');
    expect(unarmed.selected(post, 'POST')).toBe(true);
    expect(unarmed.retryAfter(connectFailure())).toBeUndefined();
    expect(reported.mock.calls).toEqual([
      [live.instance, 'reset'],
      [post.instance, 'connect-failed'],
    ]);
  });

  test('a response counts the instance\'s failures in a row from zero again; without ejection, an unretried call is not watched', () => {
    router.setPolicy({ outlier: { consecutiveFailures: 2 } });
    const outbound = createOutbound(options(), { retriesResets: true });
    const target = router.select('b', 'gray');
    const attempt = (outcome: 'refused' | 'answered') => {
      const call = withLane('gray', () => outbound.start('b'));
      call.selected(target, 'POST');
      if (outcome === 'refused') call.retryAfter(connectFailure());
      else call.answered();
    };
    attempt('refused');
    attempt('answered');
    attempt('refused');
    expect(router.ejected('b')).toEqual([]);
    attempt('refused');
    expect(router.ejected('b')).toEqual([target.instance.id]);

    router.setPolicy({ outlier: false });
    const quiet = outbound.start('b');
    expect(quiet.selected(router.select('b', 'gray'), 'POST')).toBe(false);
  });

  test('failure: the typed error once every candidate refused the connection; the network error otherwise', () => {
    const refused = connectFailure();
    // Every instance refused: NO_INSTANCE, with service, lane, unreachable and the network error as cause.
    const all = withLane('gray', () => createOutbound(options({ retry: { attempts: 5 } }), { retriesResets: true }).start('b'));
    all.selected(router.select('b', 'gray'), 'GET');
    while (all.retryAfter(refused) !== undefined);
    const typed = all.failure(refused);
    expect(typed).toMatchObject({ code: ErrorCode.NO_INSTANCE, cause: refused, details: { service: 'b', lane: 'gray', unreachable: true } });
    // The attempts ran out at the last candidate: still nothing left, still typed.
    const spent = withLane('gray', () => createOutbound(options(), { retriesResets: true }).start('b'));
    spent.selected(router.select('b', 'gray'), 'GET');
    while (spent.retryAfter(refused) !== undefined);
    expect(spent.failure(refused)).toMatchObject({ code: ErrorCode.NO_INSTANCE });
    // An instance left (attempts ran out first), a reset on the way, or retries not armed: the network error.
    const left = withLane('gray', () => createOutbound(options({ retry: { attempts: 1 } }), { retriesResets: true }).start('b'));
    left.selected(router.select('b', 'gray'), 'GET');
    while (left.retryAfter(refused) !== undefined);
    expect(left.failure(refused)).toBe(refused);
    const reached = withLane('gray', () => createOutbound(options({ retry: { attempts: 5 } }), { retriesResets: true }).start('b'));
    reached.selected(router.select('b', 'gray'), 'GET');
    reached.retryAfter(reset());
    while (reached.retryAfter(refused) !== undefined);
    expect(reached.failure(refused)).toBe(refused);
    const unarmed = createOutbound(options(), { retriesResets: true }).start('b');
    unarmed.selected(router.select('b', 'gray'), 'POST');
    expect(unarmed.failure(refused)).toBe(refused);
  });

  test('an onSelect that throws is ignored', () => {
    const outbound = createOutbound(options({ onSelect: () => { throw new Error('boom'); } }), { retriesResets: true });
    expect(() => outbound.start('b').selected(router.select('b', undefined), 'GET')).not.toThrow();
  });

  test('inject writes the lane carriers through the header access, merging baggage, leaving other headers alone', () => {
    const outbound = createOutbound(options(), { retriesResets: true });
    const req = request({ Baggage: 'k=v', accept: 'text/plain' });
    withLane('gray', () => outbound.start('b')).inject(req, FAKE_HEADERS);
    expect(Object.fromEntries(req.headers)).toEqual({ accept: 'text/plain', 'x-mse-tag': 'gray', baggage: 'k=v,lane=gray' });
  });

  test('inject removes stale carriers in the base lane, and writes nothing that is already right', () => {
    const outbound = createOutbound(options(), { retriesResets: true });
    const stale = request({ 'X-Mse-Tag': 'gray', baggage: 'lane=gray', accept: 'text/plain' });
    outbound.start('b').inject(stale, FAKE_HEADERS);
    expect(Object.fromEntries(stale.headers)).toEqual({ accept: 'text/plain' });
    const right = request({ 'x-mse-tag': 'gray', baggage: 'lane=gray' });
    withLane('gray', () => outbound.start('b')).inject(right, FAKE_HEADERS);
    expect(right.sets).toEqual([]);
    expect(Object.fromEntries(right.headers)).toEqual({ 'x-mse-tag': 'gray', baggage: 'lane=gray' });
  });

  test('inject writes the carriers the options name', () => {
    const outbound = createOutbound(options({ carriers: createCarriers({ baggage: false, headers: ['x-canary'] }) }), { retriesResets: true });
    const req = request();
    withLane('gray', () => outbound.start('b')).inject(req, FAKE_HEADERS);
    expect(Object.fromEntries(req.headers)).toEqual({ 'x-mse-tag': 'gray', 'x-canary': 'gray' });
  });

  test('invalid retry options and carriers createCarriers did not make fail at creation with CONFIG_INVALID', () => {
    expect(() => createOutbound(options({ retry: { attempts: -1 } }), { retriesResets: true })).toThrow(
      expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }),
    );
    expect(() => createOutbound(options({ carriers: { mseTag: 'x-lane' } as never }), { retriesResets: true })).toThrow(
      expect.objectContaining({ code: ErrorCode.CONFIG_INVALID, details: { path: 'carriers' } }),
    );
  });

  test("the router's deprecated RetryOptions is the same shape as the outbound one", () => {
    const fromRouter: DeprecatedRetryOptions = { attempts: 1, methods: ['GET'], budgetMs: 5 };
    const fromOutbound: RetryOptions = fromRouter;
    const back: DeprecatedRetryOptions = fromOutbound;
    expect(createOutbound(options({ retry: back }), { retriesResets: true }).start('b').selected(router.select('b', undefined), 'GET')).toBe(true);
  });
});
