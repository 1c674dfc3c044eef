import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { NacosServer, ResolvedTls } from '../options.js';

/** What an HTTP call to Nacos answered. */
export interface HttpAnswer {
  readonly status: number;
  readonly ok: boolean;
  readonly text: string;
}

/** `http(s)://host:port` of a server's HTTP API, by the client's TLS setting. */
export function baseUrl(server: NacosServer, tls: ResolvedTls | undefined): string {
  return `${tls ? 'https' : 'http'}://${server.host}:${server.httpPort}`;
}

/**
 * One HTTP request with node:http(s), so that calls over TLS trust the same CA, present the same
 * client certificate and check the same server name as the gRPC connections (global `fetch`
 * cannot be given a CA without undici's own Agent). A `form` is sent as
 * `application/x-www-form-urlencoded` with POST; without one the request is a GET.
 */
export function httpCall(
  url: string,
  options: { readonly form?: string; readonly headers?: Readonly<Record<string, string>>; readonly tls: ResolvedTls | undefined; readonly timeoutMs: number },
): Promise<HttpAnswer> {
  const { form, tls, timeoutMs } = options;
  return new Promise((resolve, reject) => {
    const requestOptions = {
      method: form === undefined ? 'GET' : 'POST',
      headers: {
        ...options.headers,
        ...(form === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(form) }),
      },
      timeout: timeoutMs,
    };
    const onResponse = (response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const status = response.statusCode ?? 0;
        resolve({ status, ok: status >= 200 && status < 300, text: Buffer.concat(chunks).toString('utf8') });
      });
    };
    const request = tls
      ? httpsRequest(
          url,
          {
            ...requestOptions,
            ...(tls.ca ? { ca: tls.ca } : {}),
            ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}),
            ...(tls.servername ? { servername: tls.servername } : {}),
            rejectUnauthorized: tls.rejectUnauthorized,
            agent: false,
          },
          onResponse,
        )
      : httpRequest(url, { ...requestOptions, agent: false }, onResponse);
    const timer = setTimeout(() => request.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    request.on('close', () => clearTimeout(timer));
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', reject);
    request.end(form);
  });
}

/** The JSON object of an answer, or `{}` when it is not one. */
export function jsonOf(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function isTlsError(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return (typeof code === 'string' && /CERT|TLS|SSL|ERR_TLS|DEPTH_ZERO|SELF_SIGNED/.test(code)) || /certificate|TLS|SSL/i.test(error.message);
}
