import { EventEmitter } from 'node:events';
import { ROOT_CONTEXT, context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { LANE_KEY, bindEmitter, bindLane, createCarriers, ensureContextManager, getLane, hasContextManager, setLane, withLane } from '@graylane/context';
import { captureDiag } from './support.js';

const diagLog = captureDiag();

describe('ensureContextManager', () => {
  afterAll(() => context.disable());

  it('installs a context manager once, and reuses one that is registered', () => {
    expect(withLane('gray', () => getLane())).toBeUndefined();
    expect(hasContextManager()).toBe(false);
    expect(ensureContextManager()).toBe(true);
    expect(ensureContextManager()).toBe(false);
    expect(hasContextManager()).toBe(true);
    expect(withLane('gray', () => getLane())).toBe('gray');
  });

  it('leaves a manager registered by someone else (sdk-node) alone', () => {
    context.disable();
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    expect(ensureContextManager()).toBe(false);
    expect(diagLog.messages.filter((message) => /duplicate|graylane/i.test(message))).toEqual([]);
  });
});

describe('lane in the context', () => {
  beforeAll(() => ensureContextManager());

  it('uses a Symbol.for key that another copy of the package agrees on', () => {
    expect(LANE_KEY).toBe(Symbol.for('graylane.lane'));
  });

  it('sets, reads and clears the lane', () => {
    const gray = setLane(ROOT_CONTEXT, 'gray');
    expect(getLane(gray)).toBe('gray');
    expect(getLane(setLane(gray, undefined))).toBeUndefined();
    expect(getLane(setLane(gray, 'base'))).toBeUndefined();
    expect(getLane(ROOT_CONTEXT)).toBeUndefined();
  });

  it('mirrors the lane into OpenTelemetry baggage, keeping other entries', () => {
    const withTenant = propagation.setBaggage(ROOT_CONTEXT, propagation.createBaggage({ tenant: { value: 'acme' } }));
    const gray = setLane(withTenant, 'gray');
    expect(propagation.getBaggage(gray)?.getAllEntries()).toEqual([
      ['tenant', { value: 'acme' }],
      ['lane', { value: 'gray' }],
    ]);
    expect(propagation.getBaggage(setLane(gray, undefined))?.getAllEntries()).toEqual([['tenant', { value: 'acme' }]]);
    expect(propagation.getBaggage(setLane(ROOT_CONTEXT, undefined))).toBeUndefined();
  });

  it('mirrors under the configured baggage keys', () => {
    const ctx = createCarriers({ baggage: 'x-lane', opensergoBaggage: true }).setLane(ROOT_CONTEXT, 'gray');
    expect(propagation.getBaggage(ctx)?.getAllEntries().map(([key]) => key)).toEqual(['x-lane', 'OpenSergo-Label']);
    expect(propagation.getBaggage(createCarriers({ baggage: false }).setLane(ROOT_CONTEXT, 'gray'))).toBeUndefined();
  });

  it('treats an invalid lane as base, with a warning, and never throws', () => {
    expect(getLane(setLane(setLane(ROOT_CONTEXT, 'gray'), 'not/a lane'))).toBeUndefined();
    expect(diagLog.messages).toEqual([expect.stringContaining('is not a valid lane')]);
  });

  it('withLane nests and restores, and an undefined lane clears the caller’s', () => {
    withLane('gray', () => {
      expect(withLane('blue', () => getLane())).toBe('blue');
      expect(withLane(undefined, () => getLane())).toBeUndefined();
      expect(getLane()).toBe('gray');
    });
    expect(getLane()).toBeUndefined();
  });

  it('bindLane runs a callback in the lane it was bound in', () => {
    const bound = withLane('gray', () => bindLane(() => getLane()));
    expect(withLane('blue', bound)).toBe('gray');
  });

  it('bindEmitter binds listeners added afterwards to the lane', () => {
    const emitter = withLane('gray', () => bindEmitter(new EventEmitter()));
    const seen: (string | undefined)[] = [];
    emitter.on('event', () => seen.push(getLane()));
    withLane('blue', () => emitter.emit('event'));
    expect(seen).toEqual(['gray']);
  });
});
