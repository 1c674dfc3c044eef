import type { IncomingMessage } from 'node:http';
import fc from 'fast-check';
import { MAX_COOKIE_LENGTH, MAX_PAIRS, MAX_QUERY_LENGTH, requestView, requestViewFromNode } from '../src/index.js';
import type { RequestParts } from '../src/index.js';

// The views look values up in place, without building maps. These references are the map-building
// implementations they replaced; the views must agree with them on every input.

function decode(text: string, plusIsSpace: boolean): string {
  const raw = plusIsSpace && text.includes('+') ? text.replaceAll('+', ' ') : text;
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

function parsePairs(text: string, separator: string, plusIsSpace: boolean): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(separator, MAX_PAIRS)) {
    const pair = plusIsSpace ? part : part.trim();
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decode(eq < 0 ? pair : pair.slice(0, eq), plusIsSpace);
    let value = eq < 0 ? '' : pair.slice(eq + 1);
    if (!plusIsSpace && value.length > 1 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (!out.has(name)) out.set(name, decode(value, plusIsSpace));
  }
  return out;
}

function referenceQuery(url: string): Map<string, string> {
  const q = url.indexOf('?');
  return q < 0 ? new Map() : parsePairs(url.slice(q + 1, q + 1 + MAX_QUERY_LENGTH), '&', true);
}

function referenceCookies(header: string): Map<string, string> {
  return parsePairs(header.slice(0, MAX_COOKIE_LENGTH), ';', false);
}

function referenceHeaders(headers: Record<string, string | readonly string[] | undefined>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    const first = typeof value === 'string' ? value : value?.[0];
    if (first !== undefined && !out.has(name.toLowerCase())) out.set(name.toLowerCase(), first);
  }
  return out;
}

function nodeRequest(url: string, cookie: string): IncomingMessage {
  return { url, method: 'GET', headers: { cookie } } as unknown as IncomingMessage;
}

// Pieces that exercise separators, escapes, quotes, whitespace that trim() removes, and repeats.
const piece = fc.constantFrom('a', 'b', 'ab', '=', '&', ';', '%', '%41', '%4', '%zz', '+', ' ', '\t', '\u00a0', '\ufeff', '\u2028', '\u0085', '"', 'é', '%C3%A9', '?', 'x');
const text = fc.array(piece, { maxLength: 24 }).map((parts) => parts.join(''));
const names = fc.constantFrom('a', 'b', 'ab', 'A', 'a b', 'é', ' a', 'a ', '', 'x', '"a"', '+', '%41');

describe('in-place lookups agree with parsing into a map', () => {
  it('query parameters', () => {
    fc.assert(
      fc.property(text, fc.array(names, { minLength: 1, maxLength: 4 }), (url, lookups) => {
        const view = requestViewFromNode(nodeRequest(url, ''));
        const reference = referenceQuery(url);
        for (const name of lookups) expect([name, view.query(name)]).toEqual([name, reference.get(name)]);
      }),
      { numRuns: 3000 },
    );
  });

  it('cookies', () => {
    fc.assert(
      fc.property(text, fc.array(names, { minLength: 1, maxLength: 4 }), (cookie, lookups) => {
        const view = requestViewFromNode(nodeRequest('/', cookie));
        const reference = referenceCookies(cookie);
        for (const name of lookups) expect([name, view.cookie(name)]).toEqual([name, reference.get(name)]);
      }),
      { numRuns: 3000 },
    );
  });

  it('respects MAX_PAIRS and the length limits at their edges', () => {
    const pairs = (n: number, sep: string) => Array.from({ length: n }, (_, i) => `k${i}=${i}`).join(sep);
    for (const n of [MAX_PAIRS - 1, MAX_PAIRS, MAX_PAIRS + 1]) {
      const url = `/?${pairs(n, '&')}&&`;
      const cookie = `${pairs(n, ';')};;`;
      const view = requestViewFromNode(nodeRequest(url, cookie));
      for (const name of ['k0', `k${MAX_PAIRS - 2}`, `k${MAX_PAIRS - 1}`, `k${MAX_PAIRS}`]) {
        expect(view.query(name)).toBe(referenceQuery(url).get(name));
        expect(view.cookie(name)).toBe(referenceCookies(cookie).get(name));
      }
    }
    const long = 'v'.repeat(MAX_QUERY_LENGTH);
    for (const url of [`/?a=${long}`, `/?${'x'.repeat(MAX_QUERY_LENGTH - 2)}&a=1`, `/?${'x'.repeat(MAX_QUERY_LENGTH - 3)}&a=1`]) {
      expect(requestViewFromNode(nodeRequest(url, '')).query('a')).toBe(referenceQuery(url).get('a'));
    }
    const cookie = `${'x'.repeat(MAX_COOKIE_LENGTH - 4)}; a="12"`;
    expect(requestViewFromNode(nodeRequest('/', cookie)).cookie('a')).toBe(referenceCookies(cookie).get('a'));
  });

  it('plain-object headers, in any case', () => {
    const headerName = fc.constantFrom('x-env', 'X-Env', 'X-ENV', 'x-enV', 'host', 'Host', 'x-\u212Aey', 'x-key', 'X-KEY', '\u0130d', 'i\u0307d', 'x-e');
    const headerValue = fc.oneof(fc.constantFrom('1', '2', 'a'), fc.constant(undefined), fc.array(fc.constantFrom('3', '4'), { maxLength: 2 }));
    fc.assert(
      fc.property(fc.dictionary(headerName, headerValue, { maxKeys: 5 }), (headers) => {
        const view = requestView({ headers });
        const reference = referenceHeaders(headers);
        for (const name of ['x-env', 'host', 'x-key', 'i\u0307d', 'x-e', 'X-Env']) expect([name, view.header(name)]).toEqual([name, reference.get(name)]);
      }),
      { numRuns: 2000 },
    );
  });

  it('plain-object query and cookies: own enumerable properties only', () => {
    const inherited = Object.create({ a: 'inherited' }) as Record<string, string>;
    const hidden = Object.defineProperty({}, 'a', { value: 'hidden', enumerable: false }) as Record<string, string>;
    const parts: RequestParts = { query: inherited, cookies: hidden, headers: hidden };
    const view = requestView(parts);
    expect([view.query('a'), view.cookie('a'), view.header('a'), view.query('toString'), view.query('__proto__')]).toEqual([undefined, undefined, undefined, undefined, undefined]);
    const listed = requestView({ query: { a: ['1', '2'], b: [] }, cookies: { c: undefined } });
    expect([listed.query('a'), listed.query('b'), listed.cookie('c')]).toEqual(['1', undefined, undefined]);
  });

  it('plain-object method and host are normalised once, lazily', () => {
    const view = requestView({ method: 'post', headers: { Host: 'WWW.Demo.com:8080' } });
    expect([view.method, view.host, view.path]).toEqual(['POST', 'www.demo.com', '/']);
    expect(requestView({ host: '[::1]:80' }).host).toBe('[::1]');
  });
});
