import type { IHeaders } from 'kafkajs';
import type { MessageHeaders } from '@graylane/messaging';

/**
 * The longest header value (in bytes) decoded for lane extraction. A longer value is not a lane
 * carrier anyone wrote (graylane's baggage stays far below this), so it is left out: the record is
 * read as if the header were absent.
 */
export const MAX_HEADER_BYTES = 16 * 1024;

function decode(value: unknown): string | undefined {
  if (typeof value === 'string') return value.length <= MAX_HEADER_BYTES ? value : undefined;
  if (value instanceof Uint8Array) {
    if (value.byteLength > MAX_HEADER_BYTES) return undefined;
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
  }
  return undefined;
}

/**
 * Kafka record headers as graylane reads them: each `Buffer` value decoded as UTF-8, arrays (a header
 * repeated on the record) decoded element by element, absent, oversized or non-byte values left out.
 * Never throws, whatever the record carries; `undefined` headers give `{}`.
 */
export function toMessageHeaders(headers: Readonly<IHeaders> | undefined | null): MessageHeaders {
  const out: MessageHeaders = {};
  if (headers === undefined || headers === null || typeof headers !== 'object') return out;
  try {
    for (const key of Object.keys(headers)) {
      const value: unknown = headers[key];
      if (Array.isArray(value)) {
        const parts: string[] = [];
        for (const part of value) {
          const text = decode(part);
          if (text !== undefined) parts.push(text);
        }
        if (parts.length > 0) out[key] = parts.length === 1 ? parts[0] : parts;
      } else {
        const text = decode(value);
        if (text !== undefined) out[key] = text;
      }
    }
  } catch {
    // A hostile header object (a throwing getter, say): what was read so far is all there is.
  }
  return out;
}
