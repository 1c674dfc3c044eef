import { ErrorCode, GraylaneError } from '@graylane/core';
import type { NacosLogger, NacosServer, ResolvedTls } from '../options.js';
import { num, str } from '../wire.js';
import { baseUrl, httpCall, isTlsError, jsonOf } from './http.js';

/** Refresh the token when this share of its lifetime has passed. */
const REFRESH_AT = 0.9;
/** The lifetime Nacos gives tokens by default, when a login answer does not say (seconds). */
const DEFAULT_TOKEN_TTL_S = 18_000;
/** Bounds of the wait before another try after a failed refresh. */
const REFRESH_RETRY_MIN_MS = 1_000;
const REFRESH_RETRY_MAX_MS = 30_000;
/**
 * Login endpoints, in the order tried: Nacos 3's, then the 1.x/2.x open API's (Nacos 2.x has only
 * this one; Nacos 3.1 and r-nacos answer both). The next is tried only when one is absent (404/405).
 */
const LOGIN_PATHS = ['/nacos/v3/auth/user/login', '/nacos/v1/auth/login'] as const;

interface Token {
  readonly value: string;
  readonly server: NacosServer;
  readonly refreshAt: number;
  readonly expiresAt: number;
}

/**
 * Username/password login against Nacos' HTTP API, for the `accessToken` header of every gRPC
 * request. The client logs in on every new connection (a restarted server may have forgotten its
 * tokens), refreshes the token in the background at 90 % of its lifetime (`tokenTtl`) while the
 * old one stays in use, and logs in again when a request is refused for its token.
 */
export class NacosAuth {
  readonly #username: string;
  readonly #password: string;
  readonly #tls: ResolvedTls | undefined;
  readonly #timeoutMs: number;
  readonly #logger: NacosLogger;
  #token: Token | undefined;
  #login: Promise<Token> | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Index in {@link LOGIN_PATHS} of the endpoint that answered last. */
  #path = 0;
  #closed = false;

  constructor(
    credentials: { username: string; password: string },
    options: { tls: ResolvedTls | undefined; timeoutMs: number; logger: NacosLogger },
  ) {
    this.#username = credentials.username;
    this.#password = credentials.password;
    this.#tls = options.tls;
    this.#timeoutMs = options.timeoutMs;
    this.#logger = options.logger;
  }

  /** Headers that authenticate a request to `server`; logs in first when there is no live token. */
  async headers(server: NacosServer): Promise<Record<string, string>> {
    return { accessToken: await this.token(server) };
  }

  /** The current token, or a new one when there is none or it has expired. */
  async token(server: NacosServer): Promise<string> {
    const token = this.#token;
    if (token && Date.now() < token.expiresAt) return token.value;
    return (await this.login(server)).value;
  }

  /**
   * Logs in now, on a new connection or after the server refused the token; calls while a login
   * is running share it. Rejects with `NACOS_AUTH` when the server refuses the credentials, and
   * `NACOS` when it cannot be asked.
   */
  login(server: NacosServer): Promise<Token> {
    this.#login ??= this.#doLogin(server)
      .then((token) => {
        this.#token = token;
        this.#schedule(token);
        return token;
      })
      .finally(() => {
        this.#login = undefined;
      });
    return this.#login;
  }

  /** Stops refreshing. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #schedule(token: Token): void {
    clearTimeout(this.#timer);
    if (this.#closed) return;
    this.#timer = setTimeout(() => void this.#refresh(token.server), Math.max(0, token.refreshAt - Date.now())).unref();
  }

  /** Background refresh: the current token stays in use until the new one arrives. */
  async #refresh(server: NacosServer): Promise<void> {
    try {
      await this.login(server);
    } catch (error) {
      if (this.#closed) return;
      const left = (this.#token?.expiresAt ?? 0) - Date.now();
      this.#logger.warn(
        `graylane: refreshing the Nacos access token at ${address(server)} failed (${(error as Error).message}); ` +
          (left > 0 ? `the current token stays in use for ${Math.ceil(left / 1000)} s more; retrying` : 'the token has expired; retrying'),
      );
      const wait = Math.min(REFRESH_RETRY_MAX_MS, Math.max(REFRESH_RETRY_MIN_MS, left / 4));
      this.#timer = setTimeout(() => void this.#refresh(server), wait).unref();
    }
  }

  async #doLogin(server: NacosServer): Promise<Token> {
    const form = new URLSearchParams({ username: this.#username, password: this.#password }).toString();
    const absent: string[] = [];
    for (let i = 0; i < LOGIN_PATHS.length; i++) {
      const index = (this.#path + i) % LOGIN_PATHS.length;
      const url = `${baseUrl(server, this.#tls)}${LOGIN_PATHS[index]}`;
      const requested = Date.now();
      let response: { status: number; ok: boolean; text: string };
      try {
        response = await httpCall(url, { form, tls: this.#tls, timeoutMs: this.#timeoutMs });
      } catch (cause) {
        const tlsHint = this.#tls && isTlsError(cause as Error) ? '; check the tls option (ca, servername)' : '';
        throw new GraylaneError(ErrorCode.NACOS, `Nacos login at ${url} failed: ${(cause as Error).message}${tlsHint}`, {
          cause,
          details: { server: address(server), url },
        });
      }
      if (response.status === 404 || response.status === 405) {
        absent.push(`${LOGIN_PATHS[index]}: HTTP ${response.status}`);
        continue;
      }
      this.#path = index;
      return this.#tokenOf(server, url, response, requested);
    }
    throw new GraylaneError(ErrorCode.NACOS, `Nacos at ${address(server)} has no login endpoint (${absent.join(', ')}); is it a Nacos server?`, {
      details: { server: address(server) },
    });
  }

  #tokenOf(server: NacosServer, url: string, response: { status: number; ok: boolean; text: string }, requested: number): Token {
    const details = { server: address(server), url, status: response.status, username: this.#username };
    // Nacos answers a wrong password with 403 (r-nacos, Nacos 2.x; Nacos 3.1 for an unknown user)
    // or with 500 (Nacos 3.1 for a known user): both mean the credentials were not accepted.
    if (response.status === 401 || response.status === 403 || response.status === 500) {
      throw new GraylaneError(
        ErrorCode.NACOS_AUTH,
        `Nacos at ${address(server)} refused the login of user "${this.#username}" (HTTP ${response.status}: ${brief(response.text)}); check username and password`,
        { details },
      );
    }
    const body = jsonOf(response.text);
    const value = str(body['accessToken']);
    if (!response.ok || value === '') {
      throw new GraylaneError(ErrorCode.NACOS, `Nacos login at ${url} answered HTTP ${response.status} without an accessToken (${brief(response.text)})`, {
        details,
      });
    }
    const ttlMs = Math.max(1, num(body['tokenTtl'], DEFAULT_TOKEN_TTL_S)) * 1000;
    return { value, server, refreshAt: requested + ttlMs * REFRESH_AT, expiresAt: requested + ttlMs };
  }
}

const address = (server: NacosServer) => `${server.host}:${server.httpPort}`;

function brief(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat === '' ? 'empty answer' : flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}
