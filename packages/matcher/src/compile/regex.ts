import { RE2JS } from 're2js';
import { MAX_REGEX_LENGTH, regexProblem } from '@graylane/rules';

/** Values longer than this never match a regex condition: a bound on the work per request. */
export const MAX_REGEX_INPUT = 4096;

/** A compiled rule regex: an unanchored search, like `RegExp.prototype.test`. */
export interface RuleRegex {
  test(input: string): boolean;
}

/**
 * Compiles a rule's regex on RE2JS, a linear-time engine (RE2's automata, no backtracking), so that
 * no pattern can take super-linear time on any header: `^(a|aa)+$` on 40 characters took 32 s with
 * JavaScript's engine. Returns why a pattern is refused: longer than MAX_REGEX_LENGTH, or outside
 * RE2's syntax (backreferences, lookaround).
 */
export function compileRegex(pattern: string): RuleRegex | string {
  if (pattern.length > MAX_REGEX_LENGTH) return `regex is longer than ${MAX_REGEX_LENGTH} characters`;
  try {
    return RE2JS.compile(pattern);
  } catch {
    return `regex ${JSON.stringify(pattern)} ${regexProblem(pattern) ?? 'cannot be compiled'}`;
  }
}
