import safeRegex from 'safe-regex2';
import { MAX_REGEX_LENGTH } from '@graylane/rules';

/** Values longer than this never match a regex condition, which bounds any backtracking. */
export const MAX_REGEX_INPUT = 4096;

/**
 * Compiles a rule's regex, or says why it is refused: longer than MAX_REGEX_LENGTH, not a valid
 * JavaScript pattern, or rejected by safe-regex2 (nested quantifiers such as `(a+)+`, or more than
 * 25 repetitions), which are the shapes that backtrack catastrophically.
 */
export function compileRegex(pattern: string): RegExp | string {
  if (pattern.length > MAX_REGEX_LENGTH) return `regex is longer than ${MAX_REGEX_LENGTH} characters`;
  let regex: RegExp;
  try {
    regex = new RegExp(pattern);
  } catch (error) {
    return `is not a valid JavaScript regular expression: ${(error as Error).message}`;
  }
  if (!safeRegex(regex)) {
    return `regex ${JSON.stringify(pattern)} may backtrack catastrophically (nested or too many quantifiers); simplify it`;
  }
  return regex;
}
