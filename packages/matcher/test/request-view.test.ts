import type { IncomingMessage } from 'node:http';
import fc from 'fast-check';
import { MAX_PAIRS, requestViewFromNode } from '../src/index.js';

function nodeRequest(url: string | undefined, headers: Record<string, string | string[] | undefined> = {}, method = 'GET'): IncomingMessage {
  return { url, method, headers } as unknown as IncomingMessage;
}

describe('requestViewFromNode', () => {
  it('reads method, path, host, headers, query and cookies', () => {
    const view = requestViewFromNode(
      nodeRequest('/A/a?group=gray&env=a+b&group=base&e=%E4%B8%AD&flag', { host: 'WWW.Demo.com:8080', cookie: 'uid=42; name="x%20y"; uid=43', 'x-multi': ['1', '2'] }, 'POST'),
    );
    expect([view.method, view.path, view.host]).toEqual(['POST', '/A/a', 'www.demo.com']);
    expect([view.query('group'), view.query('env'), view.query('e'), view.query('flag'), view.query('none')]).toEqual(['gray', 'a b', '中', '', undefined]);
    expect([view.cookie('uid'), view.cookie('name'), view.cookie('none')]).toEqual(['42', 'x y', undefined]);
    expect([view.header('x-multi'), view.header('host')]).toEqual(['1', 'WWW.Demo.com:8080']);
    expect(requestViewFromNode(nodeRequest(undefined, { host: '[::1]:80' })).host).toBe('[::1]');
  });

  it('parses the query string and cookies at most once, lazily', () => {
    const req = nodeRequest('/?a=1');
    const view = requestViewFromNode(req);
    Object.defineProperty(req, 'url', { get: () => { throw new Error('read twice'); } });
    expect(() => view.query('a')).toThrow('read twice');
    const counted = nodeRequest('/?a=1');
    let reads = 0;
    const url = counted.url;
    Object.defineProperty(counted, 'url', { get: () => { reads++; return url; } });
    const lazy = requestViewFromNode(counted);
    expect(reads).toBe(0);
    lazy.query('a');
    lazy.query('b');
    expect(reads).toBe(1);
  });

  it('bounds what it parses', () => {
    const many = Array.from({ length: MAX_PAIRS + 10 }, (_, i) => `k${i}=${i}`).join('&');
    const view = requestViewFromNode(nodeRequest(`/?${many}`));
    expect(view.query('k0')).toBe('0');
    expect(view.query(`k${MAX_PAIRS + 5}`)).toBeUndefined();
  });

  it('never throws on malformed input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), fc.string(), (url, cookie, name) => {
        const view = requestViewFromNode(nodeRequest(url, { cookie, host: cookie }));
        void [view.method, view.path, view.host, view.header(name), view.query(name), view.cookie(name)];
      }),
      { numRuns: 500 },
    );
    const broken = requestViewFromNode(nodeRequest('/?a=%E4%zz&b=%', { cookie: 'c=%ff; =; ;;' }));
    expect([broken.query('a'), broken.query('b'), broken.cookie('c')]).toEqual(['%E4%zz', '%', '%ff']);
  });
});
