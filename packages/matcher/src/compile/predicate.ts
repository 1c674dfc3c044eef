import type { CompareOperator, Predicate } from '@graylane/rules';
import type { RequestView } from '../request-view.js';
import { stickyBucket } from '../hash.js';
import { MAX_REGEX_INPUT, compileRegex } from './regex.js';
import { fieldValue, randomBucket } from './state.js';
import type { Frame } from './state.js';

/** A compiled condition, evaluated within the request's frame. */
export type Test = (req: RequestView, frame: Frame) => boolean;

/** Decimal numbers only: no hex, no empty string, no whitespace (unlike `Number()`). */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

/**
 * Compiles one predicate over its field's slot into a test, or returns why a regex is refused.
 * Every operator but `not exists` is false when the field is absent.
 *
 * Each operator (and each common shape of `==` / `in`) gets its own function literal, chosen here
 * at compile time, so the hot path has no switch and each test's body stays monomorphic.
 */
export function compilePredicate(predicate: Predicate, slot: number): Test | string {
  if (predicate.operator === 'random') {
    const percentage = predicate.percentage;
    return (_req, frame) => randomBucket(frame) < percentage;
  }
  switch (predicate.operator) {
    case 'exists':
      return (req, frame) => fieldValue(req, frame, slot) !== undefined;
    case 'not exists':
      return (req, frame) => fieldValue(req, frame, slot) === undefined;
    case 'in':
    case 'not in': {
      const list = predicate.values;
      if (predicate.operator === 'in' && list.length === 1) {
        const only = list[0]!;
        return (req, frame) => fieldValue(req, frame, slot) === only;
      }
      if (predicate.operator === 'in' && list.length === 2) {
        const first = list[0]!;
        const second = list[1]!;
        return (req, frame) => {
          const value = fieldValue(req, frame, slot);
          return value === first || value === second;
        };
      }
      const values = new Set(list);
      if (predicate.operator === 'in') {
        return (req, frame) => {
          const value = fieldValue(req, frame, slot);
          return value !== undefined && values.has(value);
        };
      }
      return (req, frame) => {
        const value = fieldValue(req, frame, slot);
        return value !== undefined && !values.has(value);
      };
    }
    case 'prefix': {
      const expected = predicate.value;
      return (req, frame) => {
        const value = fieldValue(req, frame, slot);
        return value !== undefined && value.startsWith(expected);
      };
    }
    case 'suffix': {
      const expected = predicate.value;
      return (req, frame) => {
        const value = fieldValue(req, frame, slot);
        return value !== undefined && value.endsWith(expected);
      };
    }
    case 'contains': {
      const expected = predicate.value;
      return (req, frame) => {
        const value = fieldValue(req, frame, slot);
        return value !== undefined && value.includes(expected);
      };
    }
    case 'regex': {
      const regex = compileRegex(predicate.value);
      if (typeof regex === 'string') return regex;
      return (req, frame) => {
        const value = fieldValue(req, frame, slot);
        return value !== undefined && value.length <= MAX_REGEX_INPUT && regex.test(value);
      };
    }
    case 'modulo': {
      const holds = moduloTest(predicate.divisor, predicate.remainder, predicate.compare);
      return (req, frame) => {
        const value = fieldValue(req, frame, slot);
        return value !== undefined && holds(value);
      };
    }
    case 'sticky': {
      const holds = stickyTest(predicate.percentage);
      return (req, frame) => {
        const value = fieldValue(req, frame, slot);
        return value !== undefined && holds(value);
      };
    }
    default: {
      const expected = predicate.value;
      // `undefined === expected` is false, so absence needs no separate check.
      if (isStringEquality(predicate.operator, expected)) return (req, frame) => fieldValue(req, frame, slot) === expected;
      const holds = valueComparison(predicate.operator, expected);
      return (req, frame) => {
        const value = fieldValue(req, frame, slot);
        return value !== undefined && holds(value);
      };
    }
  }
}

/** True when `field == expected` is plain string equality (`expected` is not a decimal number). */
export function isStringEquality(operator: CompareOperator, expected: string): boolean {
  return operator === '==' && !DECIMAL.test(expected);
}

/** `integer(actual) % divisor <compare> remainder`; false unless `actual` is a safe decimal integer. */
export function moduloTest(divisor: number, remainder: number, compare: CompareOperator): (actual: string) => boolean {
  const holds = numberComparison(compare, remainder);
  return (actual) => {
    if (!INTEGER.test(actual)) return false;
    const n = Number(actual);
    return Number.isSafeInteger(n) && holds(n % divisor);
  };
}

/** `actual` falls in a sticky bucket below `percentage`. */
export function stickyTest(percentage: number): (actual: string) => boolean {
  return (actual) => stickyBucket(actual) < percentage;
}

/** `actual <op> expected`: numeric when both are decimal numbers, else by UTF-16 code units. */
export function valueComparison(operator: CompareOperator, expected: string): (actual: string) => boolean {
  if (!DECIMAL.test(expected)) return stringComparison(operator, expected);
  const byString = stringComparison(operator, expected);
  const byNumber = numberComparison(operator, Number(expected));
  if (operator === '==') return (actual) => actual === expected || (DECIMAL.test(actual) && byNumber(Number(actual)));
  if (operator === '!=') return (actual) => actual !== expected && (!DECIMAL.test(actual) || byNumber(Number(actual)));
  return (actual) => (DECIMAL.test(actual) ? byNumber(Number(actual)) : byString(actual));
}

function stringComparison(operator: CompareOperator, expected: string): (actual: string) => boolean {
  switch (operator) {
    case '==':
      return (actual) => actual === expected;
    case '!=':
      return (actual) => actual !== expected;
    case '>':
      return (actual) => actual > expected;
    case '<':
      return (actual) => actual < expected;
    case '>=':
      return (actual) => actual >= expected;
    case '<=':
      return (actual) => actual <= expected;
  }
}

function numberComparison(operator: CompareOperator, expected: number): (actual: number) => boolean {
  switch (operator) {
    case '==':
      return (actual) => actual === expected;
    case '!=':
      return (actual) => actual !== expected;
    case '>':
      return (actual) => actual > expected;
    case '<':
      return (actual) => actual < expected;
    case '>=':
      return (actual) => actual >= expected;
    case '<=':
      return (actual) => actual <= expected;
  }
}
