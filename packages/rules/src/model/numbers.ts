import { Scalar, visit } from 'yaml';
import type { Document } from 'yaml';

/**
 * Unquoted numbers that a double cannot hold (integers beyond 2^53, more than 15 significant
 * digits, out of range) keep the digits as written, as a string: a rule compares an id like
 * `12345678901234567890` exactly, and a field that needs a number refuses the string with its path.
 */
export function losesDigits(source: string, value: number): boolean {
  if (!Number.isFinite(value)) return true;
  if (Number.isInteger(value) && !Number.isSafeInteger(value)) return true;
  const mantissa = /^[-+]?(\d*)\.?(\d*)/.exec(source);
  if (!mantissa || /^0[xob]/i.test(source.replace(/^[-+]/, ''))) return false;
  const digits = `${mantissa[1]}${mantissa[2]}`.replace(/^0+/, '');
  return digits.replace(/0+$/, '').length > 15;
}

/** Replaces every plain YAML number that would lose digits by its text as written. */
export function keepYamlDigits(doc: Document.Parsed): void {
  visit(doc, {
    Scalar(_key, node: Scalar) {
      if (typeof node.value === 'number' && node.type === Scalar.PLAIN && node.source !== undefined && losesDigits(node.source, node.value)) {
        node.value = node.source;
      }
    },
  });
}

/**
 * JSON text with every number that would lose digits quoted, so that `JSON.parse` keeps it as
 * written. One pass over the text; strings are skipped with their escapes.
 */
export function quoteLossyJsonNumbers(text: string): string {
  let out = '';
  let copied = 0;
  const number = /-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?/y;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      for (i++; i < text.length && text.charCodeAt(i) !== 34; i++) if (text.charCodeAt(i) === 92 /* \ */) i++;
      continue;
    }
    if (c !== 45 /* - */ && (c < 48 || c > 57)) continue;
    number.lastIndex = i;
    const match = number.exec(text);
    if (!match) continue;
    const literal = match[0];
    if (losesDigits(literal, Number(literal))) {
      out += `${text.slice(copied, i)}"${literal}"`;
      copied = i + literal.length;
    }
    i += literal.length - 1;
  }
  return copied === 0 ? text : out + text.slice(copied);
}
