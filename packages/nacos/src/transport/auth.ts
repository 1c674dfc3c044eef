import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ErrorCode, GraylaneError } from '@graylane/core';
import type { NacosServer, ResolvedTls } from '../options.js';
import { num, str } from '../wire.js';

/** Refresh the token when this share of its lifetime has passed. */
const REFRESH_AT = 0.8;

/**
 * Username/password login against Nacos' open API. The access token is cached until 80 % of its
 * lifetime and sent as the `accessToken` header of every gRPC request.
 */
export class NacosAuth {
  readonly #username: string;
  readonly #password: string;
  readonly #tls: ResolvedTls | undefined;
  readonly #timeoutMs: number;
  #token: { value: string; refreshAt: number } | undefined;
  #login: Promise<string> | undefined;

  constructor(credentials: { username: string; password: string }, options: { tls: ResolvedTls | undefined; timeoutMs: number }) {
    this.#username = credentials.username;
    this.#password = credentials.password;
    this.#tls = options.tls;
    this.#timeoutMs = options.timeoutMs;
  }

  /** Headers that authenticate a request to `server`, logging in first when needed. */
  async headers(server: NacosServer): Promise<Record<string, string>> {
    if (this.#token && Date.now() < this.#token.refreshAt) return { accessToken: this.#token.value };
    this.#login ??= this.#doLogin(server).finally(() => {
      this.#login = undefined;
    });
    return { accessToken: await this.#login };
  }

  /** Forgets the token after the server rejected it; the next request logs in again. */
  invalidate(): void {
    this.#token = undefined;
  }

  async #doLogin(server: NacosServer): Promise<string> {
    const url = `${this.#tls ? 'https' : 'http'}://${server.host}:${server.httpPort}/nacos/v1/auth/login`;
    let response: { status: number; ok: boolean; text: string };
    try {
      response = await postForm(url, new URLSearchParams({ username: this.#username, password: this.#password }).toString(), this.#tls, this.#timeoutMs);
    } catch (cause) {
      const tlsHint = this.#tls && isTlsError(cause as Error) ? '; check the tls option (ca, servername)' : '';
      throw new GraylaneError(ErrorCode.NACOS, `Nacos login at ${url} failed: ${(cause as Error).message}${tlsHint}`, {
        cause,
        details: { url },
      });
    }
    const text = response.text;
    if (response.status === 401 || response.status === 403) {
      throw new GraylaneError(
        ErrorCode.NACOS_AUTH,
        `Nacos rejected the login of user "${this.#username}" (HTTP ${response.status}: ${text.slice(0, 200)})`,
        { details: { url, status: response.status, username: this.#username } },
      );
    }
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // reported below as a missing token
    }
    const token = str(body['accessToken']);
    if (!response.ok || token === '') {
      throw new GraylaneError(ErrorCode.NACOS, `Nacos login at ${url} answered HTTP ${response.status} without an accessToken`, {
        details: { url, status: response.status },
      });
    }
    const ttlMs = num(body['tokenTtl'], 18_000) * 1000;
    this.#token = { value: token, refreshAt: Date.now() + ttlMs * REFRESH_AT };
    return token;
  }
}

/**
 * POSTs a form with node:http(s), so that a login over TLS trusts the same CA, presents the same
 * client certificate and checks the same server name as the gRPC connections (global `fetch`
 * cannot be given a CA without undici's own Agent).
 */
function postForm(url: string, form: string, tls: ResolvedTls | undefined, timeoutMs: number): Promise<{ status: number; ok: boolean; text: string }> {
  return new Promise((resolve, reject) => {
    const options = {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(form) },
      timeout: timeoutMs,
    };
    const onResponse = (response: import('node:http').IncomingMessage) => {
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
            ...options,
            ...(tls.ca ? { ca: tls.ca } : {}),
            ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}),
            ...(tls.servername ? { servername: tls.servername } : {}),
            rejectUnauthorized: tls.rejectUnauthorized,
            agent: false,
          },
          onResponse,
        )
      : httpRequest(url, { ...options, agent: false }, onResponse);
    const timer = setTimeout(() => request.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    request.on('close', () => clearTimeout(timer));
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', reject);
    request.end(form);
  });
}

function isTlsError(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return (typeof code === 'string' && /CERT|TLS|SSL|ERR_TLS|DEPTH_ZERO|SELF_SIGNED/.test(code)) || /certificate|TLS|SSL/i.test(error.message);
}
