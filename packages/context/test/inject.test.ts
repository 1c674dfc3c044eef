import fc from 'fast-check';
import { createCarriers, extractLane, injectLane } from '@graylane/context';
import { captureDiag } from './support.js';

const diagLog = captureDiag();

describe('injectLane', () => {
  it('writes every enabled writable carrier', () => {
    const headers: Record<string, unknown> = {};
    createCarriers({ opensergoHeader: true, opensergoBaggage: true, headers: ['X-Lane'] }).injectLane(headers, 'gray');
    expect(headers).toEqual({
      'x-mse-tag': 'gray',
      'x-opensergo-traffic': 'gray',
      'x-lane': 'gray',
      baggage: 'lane=gray,OpenSergo-Label=gray',
    });
  });

  it('never writes the read-only MSE agent baggage entry', () => {
    const headers: Record<string, unknown> = {};
    createCarriers({ mseTag: false }).injectLane(headers, 'gray');
    expect(headers).toEqual({ baggage: 'lane=gray' });
  });

  it('merges into an existing baggage header, replacing a previous lane entry', () => {
    const headers: Record<string, unknown> = { baggage: 'tenant=acme,lane=old;ttl=1,user=a%20b' };
    injectLane(headers, 'gray');
    expect(headers['baggage']).toBe('tenant=acme,lane=gray,user=a%20b');
  });

  it('appends to a baggage header without lane entries, leaving its text as it is', () => {
    const headers: Record<string, unknown> = { baggage: 'tenant=acme;p=1, user=42' };
    injectLane(headers, 'gray');
    expect(headers['baggage']).toBe('tenant=acme;p=1, user=42,lane=gray');
  });

  it('replaces a percent-encoded lane entry rather than adding a second one', () => {
    const headers: Record<string, unknown> = { baggage: 'l%61ne=old,tenant=acme' };
    injectLane(headers, 'gray');
    expect(headers['baggage']).toBe('lane=gray,tenant=acme');
  });

  it('leaves a baggage header that already agrees untouched', () => {
    const baggage = 'lane=gray;ttl=1, tenant=acme';
    const headers: Record<string, unknown> = { baggage };
    injectLane(headers, 'gray');
    expect(headers['baggage']).toBe(baggage);
  });

  it('joins a baggage array into one header', () => {
    const headers: Record<string, unknown> = { baggage: ['tenant=acme', 'lane=old'] };
    injectLane(headers, 'gray');
    expect(headers['baggage']).toBe('tenant=acme,lane=gray');
  });

  it('matches header names case-insensitively and writes them lower-case', () => {
    const headers: Record<string, unknown> = { 'X-MSE-Tag': 'old', Baggage: 'lane=old,tenant=acme', Accept: 'json' };
    injectLane(headers, 'gray');
    expect(headers).toEqual({ 'x-mse-tag': 'gray', Baggage: 'lane=gray,tenant=acme', Accept: 'json' });
  });

  it('removes its carriers for the base lane and keeps other baggage entries', () => {
    const headers: Record<string, unknown> = { 'x-mse-tag': 'gray', baggage: 'lane=gray,tenant=acme' };
    injectLane(headers, undefined);
    expect(headers).toEqual({ baggage: 'tenant=acme' });
    const only: Record<string, unknown> = { 'x-mse-tag': 'gray', baggage: 'lane=gray' };
    injectLane(only, 'base');
    expect(only).toEqual({});
  });

  it('treats an invalid lane as base, with a warning', () => {
    const headers: Record<string, unknown> = { 'x-mse-tag': 'gray' };
    injectLane(headers, 'no such lane!');
    expect(headers).toEqual({});
    expect(diagLog.messages).toEqual([expect.stringContaining('is not a valid lane')]);
  });

  it('leaves an oversized baggage header alone but still writes the lane headers', () => {
    const baggage = `pad=${'x'.repeat(9000)}`;
    const headers: Record<string, unknown> = { baggage };
    injectLane(headers, 'gray');
    expect(headers).toEqual({ baggage, 'x-mse-tag': 'gray' });
  });

  it('decodes Buffer header values (Kafka)', () => {
    const headers: Record<string, unknown> = { baggage: Buffer.from('tenant=acme') };
    injectLane(headers, 'gray');
    expect(headers['baggage']).toBe('tenant=acme,lane=gray');
  });

  it('never throws, even on a frozen object', () => {
    expect(() => injectLane(Object.freeze({ 'x-mse-tag': 'old' }), 'gray')).not.toThrow();
  });

  it('round-trips any valid lane through extractLane, whatever baggage was there', () => {
    const lane = fc.stringMatching(/^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,20}[A-Za-z0-9])?$/).filter((l) => l !== 'base');
    const entry = fc.tuple(fc.stringMatching(/^[a-z]{1,8}$/), fc.string({ maxLength: 10 }));
    fc.assert(
      fc.property(lane, fc.array(entry, { maxLength: 5 }), (l, entries) => {
        const headers: Record<string, unknown> = {};
        if (entries.length > 0) headers['baggage'] = entries.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join(',');
        injectLane(headers, l);
        expect(extractLane(headers as Record<string, string>)).toBe(l);
        const others = entries.filter(([k, v]) => k !== 'lane' && v.trim() !== '');
        for (const [k] of others) expect(String(headers['baggage'])).toContain(`${k}=`);
      }),
    );
  });
});
