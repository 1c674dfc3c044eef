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
 * RE2's syntax (backreferences, lookaround). With `shared`, the regex's programs share their
 * equal arrays with the other regexes compiled with it ({@link shareProgramArrays}).
 */
export function compileRegex(pattern: string, shared?: SharedArrays): RuleRegex | string {
  if (pattern.length > MAX_REGEX_LENGTH) return `regex is longer than ${MAX_REGEX_LENGTH} characters`;
  let regex: RE2JS;
  try {
    regex = RE2JS.compile(pattern);
  } catch {
    return `regex ${JSON.stringify(pattern)} ${regexProblem(pattern) ?? 'cannot be compiled'}`;
  }
  if (shared) shareProgramArrays(regex, shared);
  return regex;
}

/**
 * Equal arrays, one of each: what {@link shareProgramArrays} gives the programs of one compile.
 * Keyed by kind and contents, so an `Int32Array` and a `Uint32Array` of the same numbers stay apart.
 */
export class SharedArrays {
  readonly #arrays = new Map<string, unknown>();

  /**
   * The array equal to `array` (same kind, same numbers) seen first, or `array` itself if it is the
   * first; anything but a typed array or an array of numbers is returned as it is.
   */
  share<T>(array: T): T {
    const typed = ArrayBuffer.isView(array) && !(array instanceof DataView);
    if (!typed && !(Array.isArray(array) && array.every((element) => typeof element === 'number'))) return array;
    const list = array as unknown as ArrayLike<number> & { join(separator: string): string };
    const key = `${list.constructor.name}:${list.join(',')}`;
    const seen = this.#arrays.get(key);
    if (seen !== undefined) return seen as T;
    this.#arrays.set(key, array);
    return array;
  }

  /** How many distinct arrays it holds. */
  get size(): number {
    return this.#arrays.size;
  }
}

/** The parts of an RE2JS 2.10.0 compiled regex that {@link shareProgramArrays} rewrites: not its public API. */
interface ProgramInternals {
  readonly inst?: unknown;
}
interface InstInternals {
  runes?: unknown;
  next?: unknown;
}
interface RE2Internals {
  readonly prog?: ProgramInternals | null;
  readonly onepass?: ProgramInternals | null;
  prefixUTF8?: unknown;
}

/**
 * Makes the equal arrays of a compiled regex's programs one array each, across the regexes that
 * share `shared`, and returns how many it replaced.
 *
 * RE2JS (2.10.0, pinned) gives every instruction of a program, and of the one-pass copy it makes
 * of most anchored patterns, typed arrays of its own: its runes and its one-pass successors, most
 * of them empty or a single character, and a typed array is two heap objects of about 90 bytes
 * each. In the rules benchmark's lanes (`^env-<i>-[a-z]+$`) a compiled pattern kept 9.5 KB in
 * 132 objects, which every garbage collection that meets them copies or marks; with its arrays
 * shared, 3.4 KB in 50: 60 MB less at 10,000 patterns.
 *
 * Sharing is safe because RE2JS writes these arrays only while it compiles (its compiler and its
 * one-pass builder, both inside `RE2JS.compile`); matching only reads them. A regex whose parts
 * are not shaped as expected (another RE2JS) is left as it is.
 */
export function shareProgramArrays(regex: RE2JS, shared: SharedArrays): number {
  const re2 = regex.re2() as unknown as RE2Internals | null | undefined;
  if (!re2 || typeof re2 !== 'object') return 0;
  let replaced = 0;
  const share = <T>(array: T): T => {
    const one = shared.share(array);
    if (one !== array) replaced++;
    return one;
  };
  for (const program of [re2.prog, re2.onepass]) {
    const instructions = program?.inst;
    if (!Array.isArray(instructions)) continue;
    for (const inst of instructions as (InstInternals | null)[]) {
      if (inst === null || typeof inst !== 'object') continue;
      if (inst.runes != null) inst.runes = share(inst.runes);
      if (inst.next != null) inst.next = share(inst.next);
    }
  }
  if (re2.prefixUTF8 != null) re2.prefixUTF8 = share(re2.prefixUTF8);
  return replaced;
}

/**
 * The regexes of one compile, by pattern: each pattern is compiled once however many rules use it,
 * and a pattern the replaced matcher had already compiled is taken from it instead (`previous`).
 * Compiling is what a reload costs: RE2JS takes about 37 µs a pattern, and a pattern keeps about
 * 3.5 KB once its programs share their arrays with the table's others ({@link shareProgramArrays};
 * 9.5 KB on its own), so at 10,000 lanes a cold compile keeps some 35 MB, whose collection holds
 * the event loop; a reload that changes a few lanes reuses the rest. Holds only the patterns of
 * its own rules, so nothing accumulates over reloads.
 */
export class RegexTable {
  readonly #previous: ReadonlyMap<string, RuleRegex | string> | undefined;
  /** The arrays this compile's regexes share: dropped with the table, once the compile is done. */
  readonly #shared = new SharedArrays();
  readonly compiled = new Map<string, RuleRegex | string>();

  constructor(previous?: ReadonlyMap<string, RuleRegex | string>) {
    this.#previous = previous;
  }

  /** The compiled pattern, or why it is refused (as {@link compileRegex}). */
  get(pattern: string): RuleRegex | string {
    let regex = this.compiled.get(pattern) ?? this.#previous?.get(pattern);
    if (regex === undefined) regex = compileRegex(pattern, this.#shared);
    this.compiled.set(pattern, regex);
    return regex;
  }
}
