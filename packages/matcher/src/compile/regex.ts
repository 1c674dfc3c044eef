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

/**
 * The regexes of one compile, by pattern: each pattern is compiled once however many rules use it,
 * and a pattern the replaced matcher had already compiled is taken from it instead (`previous`).
 * Compiling is what a reload costs: RE2JS takes about 37 µs and keeps about 10 KB per pattern, so
 * at 10,000 lanes a cold compile allocates some 100 MB, whose collection holds the event loop; a
 * reload that changes a few lanes reuses the rest. Holds only the patterns of its own rules, so
 * nothing accumulates over reloads.
 */
export class RegexTable {
  readonly #previous: ReadonlyMap<string, RuleRegex | string> | undefined;
  readonly compiled = new Map<string, RuleRegex | string>();

  constructor(previous?: ReadonlyMap<string, RuleRegex | string>) {
    this.#previous = previous;
  }

  /** The compiled pattern, or why it is refused (as {@link compileRegex}). */
  get(pattern: string): RuleRegex | string {
    let regex = this.compiled.get(pattern) ?? this.#previous?.get(pattern);
    if (regex === undefined) regex = compileRegex(pattern);
    this.compiled.set(pattern, regex);
    return regex;
  }
}
