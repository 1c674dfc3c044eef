import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** Hop-by-hop headers (RFC 9110 §7.6.1) that a proxy must not forward. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * The end-to-end headers of a message: a copy without hop-by-hop headers and without the headers
 * named by its `Connection` header.
 */
export function endToEndHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const named = connectionTokens(headers.connection);
  const out: IncomingHttpHeaders = {};
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || named?.has(name)) continue;
    const value = headers[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

function connectionTokens(value: string | undefined): Set<string> | undefined {
  if (!value) return undefined;
  const tokens = new Set<string>();
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name) tokens.add(name);
  }
  return tokens;
}

/** Appends the client's address to `x-forwarded-for` and sets `x-forwarded-host`/`-proto`. */
export function addForwardedHeaders(
  headers: OutgoingHttpHeaders,
  client: { address: string | undefined; host: string | undefined; encrypted: boolean },
): void {
  const prior = headers['x-forwarded-for'];
  const address = client.address ?? 'unknown';
  headers['x-forwarded-for'] = prior ? `${Array.isArray(prior) ? prior.join(', ') : String(prior)}, ${address}` : address;
  if (client.host && headers['x-forwarded-host'] === undefined) headers['x-forwarded-host'] = client.host;
  if (headers['x-forwarded-proto'] === undefined) headers['x-forwarded-proto'] = client.encrypted ? 'https' : 'http';
}
