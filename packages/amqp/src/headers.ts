import type { MessageHeaders } from '@graylane/context';

/**
 * The longest header value read for the lane, in bytes. W3C baggage allows 8192 bytes per header; a
 * longer value is not read at all (the message is handled as base).
 */
export const MAX_HEADER_BYTES = 8192;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return Buffer.byteLength(value) <= MAX_HEADER_BYTES ? value : undefined;
  if (value instanceof Uint8Array) {
    if (value.byteLength > MAX_HEADER_BYTES) return undefined;
    try {
      return utf8.decode(value);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * The string headers of an AMQP message, to read its lane from. amqplib decodes a header table into
 * strings, Buffers (byte arrays), numbers, booleans, arrays and nested tables: strings are kept,
 * Buffers kept when they are valid UTF-8, arrays keep their string members, and anything else (or
 * longer than {@link MAX_HEADER_BYTES}) is left out, so an unreadable carrier makes the message a
 * base message. Never throws.
 */
export function amqpHeaders(headers: unknown): MessageHeaders {
  const out: MessageHeaders = {};
  if (typeof headers !== 'object' || headers === null) return out;
  let entries: [string, unknown][];
  try {
    entries = Object.entries(headers);
  } catch {
    return out;
  }
  for (const [key, value] of entries) {
    if (Array.isArray(value)) {
      const parts = value.map(text).filter((part): part is string => part !== undefined);
      if (parts.length > 0) out[key.toLowerCase()] = parts;
      continue;
    }
    const t = text(value);
    if (t !== undefined) out[key.toLowerCase()] = t;
  }
  return out;
}
