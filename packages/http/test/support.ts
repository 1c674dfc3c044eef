import http from 'node:http';
import https from 'node:https';
import type { Seen } from '@graylane/testing';

/** A response: status and parsed JSON body. */
export interface Reply {
  status: number;
  body: Seen;
}

/** GETs `url` with `options` (agent, headers, ...) through `node:http` or `node:https`. */
export function get(url: string, options: http.RequestOptions): Promise<Reply> {
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(url, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body) as Seen }));
    });
    req.on('error', reject);
  });
}
