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

/**
 * A {@link RequestView} over plain objects, for tests, benchmarks and non-Node servers. Creating it
 * copies nothing: `parts` is read lazily, each part at most once, so it must not change while the
 * view is in use. Header names are matched case-insensitively; when every name is already
 * lower-case (as Node and most servers give them) they are looked up in place.
 */
export function requestView(parts: RequestParts): RequestView {
  return new PartsView(parts);
}

type Record_ = Readonly<Record<string, string | readonly string[] | undefined>>;

class PartsView implements RequestView {
  readonly #parts: RequestParts;
  #method: string | undefined;
  #host: string | undefined;
  /** The header names when some are not lower-case; `null` when all are (looked up in place). */
  #headerNames: readonly string[] | null | undefined;
  #headerCase = LOWER_CASE;

  constructor(parts: RequestParts) {
    this.#parts = parts;
  }

  get method(): string {
    return (this.#method ??= (this.#parts.method ?? 'GET').toUpperCase());
  }

  get path(): string {
    return this.#parts.path ?? '/';
  }

  get host(): string {
    return (this.#host ??= normaliseHost(this.#parts.host ?? this.header('host') ?? ''));
  }

  header(name: string): string | undefined {
    const headers = this.#parts.headers;
    if (headers === undefined || headers === null) return undefined;
    if (this.#headerNames === undefined) {
      const names = Object.keys(headers);
      this.#headerCase = headerCase(names);
      this.#headerNames = this.#headerCase === LOWER_CASE ? null : names;
    }
    const names = this.#headerNames;
    if (names === null) return own(headers, name);
    const ascii = this.#headerCase === ASCII;
    for (const key of names) {
      if (ascii ? !asciiLowerCaseIs(key, name) : key.toLowerCase() !== name) continue;
      const value = first(headers[key]);
      if (value !== undefined) return value;
    }
    return undefined;
  }

  query(name: string): string | undefined {
    return own(this.#parts.query, name);
  }

  cookie(name: string): string | undefined {
    return own(this.#parts.cookies, name);
  }
}

const { propertyIsEnumerable } = Object.prototype;

/** The first value of `record`'s own enumerable property `name` (what `Object.entries` sees). */
function own(record: Record_ | undefined, name: string): string | undefined {
  if (record === undefined || record === null) return undefined;
  const value = record[name];
  if (value === undefined || !propertyIsEnumerable.call(record, name)) return undefined;
  return first(value);
}

function first(value: string | readonly string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : value?.[0];
}

/** Header names are all ASCII lower-case, all ASCII, or not all ASCII. */
const LOWER_CASE = 0;
const ASCII = 1;
const OTHER = 2;

function headerCase(names: readonly string[]): number {
  let result = LOWER_CASE;
  for (const name of names) {
    for (let i = 0; i < name.length; i++) {
      const code = name.charCodeAt(i);
      if (code > 0x7f) return OTHER;
      if (code >= 0x41 && code <= 0x5a) result = ASCII;
    }
  }
  return result;
}

/** Whether `key.toLowerCase() === name`, for an ASCII `key`. */
function asciiLowerCaseIs(key: string, name: string): boolean {
  if (key.length !== name.length) return false;
  for (let i = 0; i < key.length; i++) {
    const code = key.charCodeAt(i);
    if ((code >= 0x41 && code <= 0x5a ? code + 0x20 : code) !== name.charCodeAt(i)) return false;
  }
  return true;
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
  /** The URL, read on the first query lookup; `#queryStart` is where its query string starts (-1: none). */
  #url: string | undefined;
  #queryStart = -1;
  /** The Cookie header, read on the first cookie lookup; `null` when absent. */
  #cookies: string | null | undefined;

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
    if (this.#url === undefined) {
      const url = this.#req.url ?? '';
      this.#url = url;
      this.#queryStart = url.indexOf('?') + 1 || -1;
    }
    const start = this.#queryStart;
    if (start < 0) return undefined;
    return findPair(this.#url, start, Math.min(this.#url.length, start + MAX_QUERY_LENGTH), AMPERSAND, true, name);
  }

  cookie(name: string): string | undefined {
    if (this.#cookies === undefined) this.#cookies = this.header('cookie') ?? null;
    const header = this.#cookies;
    if (header === null) return undefined;
    return findPair(header, 0, Math.min(header.length, MAX_COOKIE_LENGTH), SEMICOLON, false, name);
  }
}

const AMPERSAND = '&';
const SEMICOLON = ';';

/**
 * The value of `name` among the pairs `a=1<sep>b=2` of `text[start, end)`, exactly as a parse of
 * that text would give it, without building anything: only the first {@link MAX_PAIRS} pieces
 * count; cookie pairs are trimmed and lose one pair of surrounding double quotes; names and values
 * are percent-decoded (query: `+` is a space); the first value of a name wins; a pair without `=`
 * has the value `''`. Scanning allocates only the value returned. The matcher reads each field at
 * most once per request, so a scan per lookup costs less than parsing every pair into a map.
 */
function findPair(text: string, start: number, end: number, separator: string, plusIsSpace: boolean, name: string): string | undefined {
  let next = start;
  for (let piece = 0; piece < MAX_PAIRS && next <= end; piece++) {
    let s = next;
    let e = text.indexOf(separator, s);
    if (e < 0 || e > end) e = end;
    next = e + 1;
    if (!plusIsSpace) {
      while (s < e && isTrimmed(text.charCodeAt(s))) s++;
      while (e > s && isTrimmed(text.charCodeAt(e - 1))) e--;
    }
    if (s === e) continue;
    let eq = text.indexOf('=', s);
    if (eq >= e) eq = -1;
    if (!nameIs(text, s, eq < 0 ? e : eq, name, plusIsSpace)) continue;
    let from = eq < 0 ? e : eq + 1;
    let to = e;
    if (!plusIsSpace && to - from > 1 && text.charCodeAt(from) === 0x22 && text.charCodeAt(to - 1) === 0x22) {
      from++;
      to--;
    }
    return decode(text.slice(from, to), plusIsSpace);
  }
  return undefined;
}

/** Whether `text[start, end)`, decoded, is `name`. */
function nameIs(text: string, start: number, end: number, name: string, plusIsSpace: boolean): boolean {
  if (end - start === name.length && text.startsWith(name, start)) {
    // The raw name is `name`: it decodes to itself unless it holds an escape.
    return !hasEscape(name, 0, name.length, plusIsSpace) || decode(name, plusIsSpace) === name;
  }
  return hasEscape(text, start, end, plusIsSpace) && decode(text.slice(start, end), plusIsSpace) === name;
}

function hasEscape(text: string, start: number, end: number, plusIsSpace: boolean): boolean {
  const percent = text.indexOf('%', start);
  if (percent >= 0 && percent < end) return true;
  if (!plusIsSpace) return false;
  const plus = text.indexOf('+', start);
  return plus >= 0 && plus < end;
}

/** The characters `String.prototype.trim` removes (WhiteSpace and LineTerminator). */
function isTrimmed(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  if (code < 0xa0) return false;
  return (
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
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
