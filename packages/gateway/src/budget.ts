import type { OutgoingHttpHeaders } from 'node:http';

/** Node's default `maxHeaderSize` (and so the usual upstream's limit before it answers 431): 16 KiB. */
export const DEFAULT_HEADER_BUDGET = 16 * 1024;

/**
 * Bytes Node may add to a request head on its own (`Connection: keep-alive`,
 * `Transfer-Encoding: chunked`, 52 bytes together) and the blank line that ends it; counted in every budget.
 */
const NODE_ADDED_BYTES = 56;

/**
 * The size in bytes of the header section `http.request` writes for `headers`, as a Node server
 * counts it against its `maxHeaderSize` (the request line is not counted; measured on Node 20+):
 * one `name: value` line per value (an array is one line per element), and
 * {@link NODE_ADDED_BYTES}. An upper bound; linear in the size of the headers.
 */
export function requestHeadBytes(headers: OutgoingHttpHeaders): number {
  let bytes = NODE_ADDED_BYTES;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    for (const line of Array.isArray(value) ? value : [value]) bytes += name.length + 4 + Buffer.byteLength(String(line));
  }
  return bytes;
}

/**
 * Keeps the headers of a forwarded request within `budget` bytes by removing the optional headers the
 * gateway added (`added`, in order), as long as it is over. Returns the head's final size: over
 * `budget` when the request is too large even without them.
 */
export function fitHeaderBudget(headers: OutgoingHttpHeaders, added: readonly string[], budget: number): number {
  let bytes = requestHeadBytes(headers);
  for (const name of added) {
    if (bytes <= budget) break;
    if (headers[name] === undefined) continue;
    delete headers[name];
    bytes = requestHeadBytes(headers);
  }
  return bytes;
}
