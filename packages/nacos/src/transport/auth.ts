import { ErrorCode, GraylaneError } from '@graylane/core';
import type { NacosServer } from '../options.js';
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
  readonly #scheme: 'http' | 'https';
  readonly #timeoutMs: number;
  #token: { value: string; refreshAt: number } | undefined;
  #login: Promise<string> | undefined;

  constructor(credentials: { username: string; password: string }, options: { tls: boolean; timeoutMs: number }) {
    this.#username = credentials.username;
    this.#password = credentials.password;
    this.#scheme = options.tls ? 'https' : 'http';
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
    const url = `${this.#scheme}://${server.host}:${server.httpPort}/nacos/v1/auth/login`;
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ username: this.#username, password: this.#password }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (cause) {
      throw new GraylaneError(ErrorCode.NACOS, `Nacos login at ${url} failed: ${(cause as Error).message}`, {
        cause,
        details: { url },
      });
    }
    const text = await response.text();
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
