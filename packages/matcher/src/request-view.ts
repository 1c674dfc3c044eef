import type { IncomingMessage } from 'node:http';

/**
 * What the matcher reads from a request. Accessors return the first value of a repeated field and
 * `undefined` when it is absent; implementations parse each part at most once and never throw.
 */
export interface RequestView {
  /** Upper-case HTTP method. */
  readonly method: string;
  /** Path without the query string, as sent (not percent-decoded). */
  readonly path: string;
  /** Host name, lower-case, without the port. */
  readonly host: string;
  /** A header by its lower-case name. */
  header(name: string): string | undefined;
  /** A query parameter, percent-decoded (`+` is a space). */
  query(name: string): string | undefined;
  /** A cookie, percent-decoded. */
  cookie(name: string): string | undefined;
}

/** Plain request parts for {@link requestView}. */
export interface RequestParts {
  readonly method?: string;
  readonly path?: string;
  readonly host?: string;
  /** Header names in any case. */
  readonly headers?: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly query?: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly cookies?: Readonly<Record<string, string | undefined>>;
}

/** Longest query string parsed; the rest is ignored. */
export const MAX_QUERY_LENGTH = 8192;
/** Longest Cookie header parsed; the rest is ignored. */
export const MAX_COOKIE_LENGTH = 8192;
/** Most query parameters or cookies read from one request. */
export const MAX_PAIRS = 256;

/** A {@link RequestView} over plain objects, for tests, benchmarks and non-Node servers. */
export function requestView(parts: RequestParts): RequestView {
  const headers = toMap(parts.headers, (name) => name.toLowerCase());
  const query = toMap(parts.query);
  const cookies = toMap(parts.cookies);
  return {
    method: (parts.method ?? 'GET').toUpperCase(),
    path: parts.path ?? '/',
    host: normaliseHost(parts.host ?? headers.get('host') ?? ''),
    header: (name) => headers.get(name),
    query: (name) => query.get(name),
    cookie: (name) => cookies.get(name),
  };
}

/**
 * A {@link RequestView} over a Node `IncomingMessage`. Headers are read in place; the path, host,
 * query string and Cookie header are parsed lazily, each at most once, within
 * {@link MAX_QUERY_LENGTH}, {@link MAX_COOKIE_LENGTH} and {@link MAX_PAIRS}. Malformed
 * percent-encoding is kept as written; nothing here throws.
 */
export function requestViewFromNode(req: IncomingMessage): RequestView {
  return new NodeRequestView(req);
}

class NodeRequestView implements RequestView {
  readonly #req: IncomingMessage;
  #path: string | undefined;
  #host: string | undefined;
  #query: Map<string, string> | undefined;
  #cookies: Map<string, string> | undefined;

  constructor(req: IncomingMessage) {
    this.#req = req;
  }

  get method(): string {
    return this.#req.method ?? 'GET';
  }

  get path(): string {
    if (this.#path === undefined) {
      const url = this.#req.url ?? '/';
      const q = url.indexOf('?');
      this.#path = q < 0 ? url : url.slice(0, q);
    }
    return this.#path;
  }

  get host(): string {
    this.#host ??= normaliseHost(this.header('host') ?? this.header(':authority') ?? '');
    return this.#host;
  }

  header(name: string): string | undefined {
    const value = this.#req.headers[name];
    return typeof value === 'string' ? value : value?.[0];
  }

  query(name: string): string | undefined {
    if (this.#query === undefined) {
      const url = this.#req.url ?? '';
      const q = url.indexOf('?');
      this.#query = q < 0 ? new Map() : parsePairs(url.slice(q + 1, q + 1 + MAX_QUERY_LENGTH), '&', true);
    }
    return this.#query.get(name);
  }

  cookie(name: string): string | undefined {
    if (this.#cookies === undefined) {
      const header = this.#req.headers.cookie;
      this.#cookies = header === undefined ? new Map() : parsePairs(header.slice(0, MAX_COOKIE_LENGTH), ';', false);
    }
    return this.#cookies.get(name);
  }
}

/** Parses `a=1<sep>b=2`; the first value of a name wins; a pair without `=` has the value `''`. */
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

function decode(text: string, plusIsSpace: boolean): string {
  const raw = plusIsSpace && text.includes('+') ? text.replaceAll('+', ' ') : text;
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** Lower-case host name without the port (`[::1]:80` → `[::1]`). */
function normaliseHost(host: string): string {
  const end = host.startsWith('[') ? host.indexOf(']') + 1 : host.lastIndexOf(':');
  return (end > 0 && end < host.length ? host.slice(0, end) : host).toLowerCase();
}

function toMap(
  record: Readonly<Record<string, string | readonly string[] | undefined>> | undefined,
  key: (name: string) => string = (name) => name,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of Object.entries(record ?? {})) {
    const first = typeof value === 'string' ? value : value?.[0];
    if (first !== undefined && !out.has(key(name))) out.set(key(name), first);
  }
  return out;
}
