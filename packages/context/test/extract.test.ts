import fc from 'fast-check';
import { isValidLane } from '@graylane/core';
import { LanePropagator, createCarriers, extractLane } from '@graylane/context';
import type { CarrierOptions } from '@graylane/context';
import { captureDiag } from './support.js';

const diagLog = captureDiag();

describe('extractLane', () => {
  const all: CarrierOptions = { opensergoHeader: true, opensergoBaggage: true, headers: ['x-lane'] };

  it('reads each carrier', () => {
    expect(extractLane({ 'x-mse-tag': 'gray' })).toBe('gray');
    expect(extractLane({ baggage: 'lane=gray' })).toBe('gray');
    expect(createCarriers(all).extractLane({ 'x-opensergo-traffic': 'gray' })).toBe('gray');
    expect(createCarriers(all).extractLane({ baggage: 'OpenSergo-Label=gray' })).toBe('gray');
    expect(extractLane({ baggage: '__microservice_tag__=gray' })).toBe('gray');
    expect(createCarriers(all).extractLane({ 'x-lane': 'gray' })).toBe('gray');
  });

  it('applies the documented precedence', () => {
    const carriers: [string, string][] = [
      ['x-mse-tag', 'a'],
      ['baggage:lane', 'b'],
      ['x-opensergo-traffic', 'c'],
      ['baggage:OpenSergo-Label', 'd'],
      ['baggage:__microservice_tag__', 'e'],
      ['x-lane', 'f'],
    ];
    for (let first = 0; first < carriers.length; first++) {
      const headers: Record<string, string> = {};
      const baggage: string[] = [];
      for (const [name, lane] of carriers.slice(first)) {
        if (name.startsWith('baggage:')) baggage.push(`${name.slice(8)}=${lane}`);
        else headers[name] = lane;
      }
      if (baggage.length > 0) headers['baggage'] = baggage.join(',');
      expect(createCarriers(all).extractLane(headers)).toBe(carriers[first]![1]);
    }
  });

  it('keeps the winner of conflicting carriers, and reports the conflict when asked to', () => {
    const headers = { 'x-mse-tag': 'gray', baggage: 'lane=blue', 'x-lane': 'gray' };
    expect(extractLane(headers)).toBe('gray');
    expect(diagLog.messages).toEqual([]);
    expect(createCarriers({ ...all, checkConflicts: true }).extractLane(headers)).toBe('gray');
    expect(diagLog.messages).toEqual([expect.stringMatching(/baggage entry lane \(blue\).*conflicts with gray/)]);
  });

  it('does not report agreeing carriers', () => {
    expect(createCarriers({ checkConflicts: true }).extractLane({ 'x-mse-tag': 'gray', baggage: 'tenant=a,lane=gray' })).toBe('gray');
    expect(diagLog.messages).toEqual([]);
  });

  it('finds a percent-encoded baggage key', () => {
    expect(extractLane({ baggage: 'l%61ne=gray' })).toBe('gray');
  });

  it('maps empty, whitespace and base to the base lane; an explicit base wins', () => {
    expect(extractLane({})).toBeUndefined();
    expect(extractLane({ 'x-mse-tag': '' })).toBeUndefined();
    expect(extractLane({ 'x-mse-tag': ' gray ' })).toBe('gray');
    expect(extractLane({ 'x-mse-tag': 'base', baggage: 'lane=gray' })).toBeUndefined();
    expect(extractLane({ 'x-mse-tag': '', baggage: 'lane=gray' })).toBe('gray');
  });

  it('ignores malformed, oversized and duplicated values with a diagnostic', () => {
    expect(extractLane({ 'x-mse-tag': 'gray blue' })).toBeUndefined();
    expect(extractLane({ 'x-mse-tag': '-gray' })).toBeUndefined();
    expect(extractLane({ 'x-mse-tag': 'g'.repeat(64) })).toBeUndefined();
    expect(extractLane({ 'x-mse-tag': 'g'.repeat(100_000) })).toBeUndefined();
    expect(extractLane({ 'x-mse-tag': ['gray', 'blue'] })).toBeUndefined();
    expect(extractLane({ 'x-mse-tag': ['gray', 'gray'] })).toBeUndefined();
    expect(extractLane({ baggage: `lane=gray,pad=${'x'.repeat(8192)}` })).toBeUndefined();
    expect(diagLog.messages).toHaveLength(7);
    expect(diagLog.messages.join('\n')).not.toContain('x'.repeat(100));
  });

  it('accepts a single-element array and Node-joined baggage arrays', () => {
    expect(extractLane({ 'x-mse-tag': ['gray'] })).toBe('gray');
    expect(extractLane({ baggage: ['tenant=a', 'lane=gray'] })).toBe('gray');
  });

  it('reads MSE agent baggage as JSON or a bare lane', () => {
    const mse = (value: string) => extractLane({ baggage: `__microservice_tag__=${encodeURIComponent(value)}` });
    expect(mse('"gray"')).toBe('gray');
    expect(mse('{"tag":"gray"}')).toBe('gray');
    expect(mse('gray')).toBe('gray');
    expect(mse('{"tag":1}')).toBeUndefined();
    expect(mse('{broken')).toBeUndefined();
  });

  it('honours disabled and renamed carriers', () => {
    expect(createCarriers({ mseTag: false }).extractLane({ 'x-mse-tag': 'gray' })).toBeUndefined();
    expect(createCarriers({ mseTag: 'X-Tag' }).extractLane({ 'x-tag': 'gray' })).toBe('gray');
    expect(createCarriers({ baggage: false }).extractLane({ baggage: 'lane=gray' })).toBeUndefined();
    expect(createCarriers({ baggage: 'l' }).extractLane({ baggage: 'l=gray' })).toBe('gray');
    expect(createCarriers({ mseBaggage: false }).extractLane({ baggage: '__microservice_tag__=gray' })).toBeUndefined();
    expect(extractLane({ 'x-opensergo-traffic': 'gray' })).toBeUndefined();
  });

  it('refuses invalid options once, where the carriers are made, never on a request', () => {
    expect(() => createCarriers({ mseTag: 'not a header' })).toThrow(expect.objectContaining({ code: 'GRAYLANE_ERR_CONFIG_INVALID', details: { option: 'mseTag', value: 'not a header' } }));
    expect(() => createCarriers({ mseTag: true, lanes: true } as CarrierOptions)).toThrow(/lanes = true: not a carrier option/);
    expect(() => createCarriers({ headers: 'x-lane' } as unknown as CarrierOptions)).toThrow(/headers = "x-lane": expected an array/);
    expect(diagLog.messages).toEqual([]);
  });

  it('returns only valid lanes or base, and never throws, for any headers', () => {
    const value = fc.oneof(fc.string(), fc.constantFrom('gray', 'base', ' blue', 'lane=gray'), fc.array(fc.string(), { maxLength: 3 }));
    const headers = fc.dictionary(fc.constantFrom('x-mse-tag', 'baggage', 'x-opensergo-traffic', 'x-lane', 'other'), value);
    fc.assert(
      fc.property(headers, (h) => {
        const lane = createCarriers(all).extractLane(h);
        expect(lane === undefined || (isValidLane(lane) && lane !== 'base')).toBe(true);
      }),
    );
  });
});

describe('carrier options', () => {
  it.each([[{ mseTag: 'x mse' }], [{ baggage: '' }], [{ headers: ['ok', 'bad header'] }], [{ headers: ['Baggage'] }]])(
    'rejects %j at construction with GRAYLANE_ERR_CONFIG_INVALID',
    (options) => {
      expect(() => createCarriers(options as CarrierOptions)).toThrow(expect.objectContaining({ code: 'GRAYLANE_ERR_CONFIG_INVALID' }));
    },
  );

  it('takes carriers as a value made once: plain options are refused where carriers are expected', () => {
    const carriers = createCarriers({ headers: ['x-lane'] });
    expect(createCarriers(carriers)).toBe(carriers);
    expect(carriers.options).toEqual({ headers: ['x-lane'] });
    expect(Object.isFrozen(carriers.options)).toBe(true);
    expect(carriers.propagator).toBe(carriers.propagator);
    expect(() => new LanePropagator({ headers: ['x-lane'] } as never)).toThrow(
      expect.objectContaining({ code: 'GRAYLANE_ERR_CONFIG_INVALID', message: expect.stringContaining('wrap the options in createCarriers') }),
    );
  });

  it('lists the headers it uses in fields()', () => {
    expect(new LanePropagator().fields()).toEqual(['x-mse-tag', 'baggage']);
    expect(new LanePropagator(createCarriers({ mseTag: false, baggage: false, mseBaggage: false, headers: ['X-Lane'] })).fields()).toEqual(['x-lane']);
    expect(createCarriers({ mseTag: false, baggage: false, mseBaggage: false, headers: ['X-Lane'] }).propagator.fields()).toEqual(['x-lane']);
  });
});
