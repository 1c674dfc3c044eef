import type { Condition, Field, Percentage, Predicate } from '@graylane/rules';
import type { RequestView } from '../request-view.js';
import { fieldReader } from './field.js';
import { fieldKey, predicateKey } from './memo.js';
import type { Attribute } from './field.js';
import { isStringEquality, moduloTest, stickyTest, valueComparison } from './predicate.js';
import { MAX_REGEX_INPUT } from './regex.js';
import type { RegexTable } from './regex.js';

/** One rule, in precedence order: its condition and its lane's percentage. */
export interface GeneratedRule {
  readonly condition: Condition;
  readonly percentage: Percentage | undefined;
}

/** The index of the first rule whose condition holds and whose percentage admits the request, or -1. */
export type FirstMatch = (req: RequestView) => number;

/**
 * Generates one function that evaluates a whole rule set, in precedence order, with every field
 * and every shared predicate held in a local variable: no closure call per predicate, no shared
 * state (each call has its own locals, so it is re-entrant), and nothing allocated.
 *
 * Safety: the generated source is made only of fixed fragments written in this file and of
 * decimal integers counted by this compiler (local-variable numbers and indices into `K`). Every
 * value that comes from the rules or the options (header names, expected values, regexes, sets,
 * numbers, attribute functions) is passed in the constants array `K`, bound as `const k<i> = K[i]`
 * and referenced by that name; none is ever written into the source, so no rule can inject code. The rules have already been
 * compiled (and refused if invalid) by the closure compiler before this runs.
 *
 * Returns `undefined` when the runtime forbids code generation from strings (a CSP,
 * `--disallow-code-generation-from-strings`), or when the rule set is too large for one function
 * (see {@link MAX_GENERATED_SOURCE}); the caller then evaluates with closures.
 */
export function generateFirstMatch(
  rules: readonly GeneratedRule[],
  attributes: Readonly<Record<string, Attribute>>,
  random: () => number,
  regexes: RegexTable,
): { first: FirstMatch; source: string } | undefined {
  try {
    return generate(rules, attributes, random, regexes);
  } catch {
    return undefined;
  }
}

function generate(
  rules: readonly GeneratedRule[],
  attributes: Readonly<Record<string, Attribute>>,
  random: () => number,
  regexes: RegexTable,
): { first: FirstMatch; source: string } | undefined {
  // Every rule costs at least one check line (`  if (x && true) return 0;`): a rule set that cannot
  // fit is turned away before any work, and one that grows past the limit as soon as it does, so that
  // the attempt costs a bounded time whatever the number of rules (a 10,000-lane reload).
  if (!mayFit(rules.length)) return undefined;
  const generator = new Generator(attributes, random, regexes);
  for (const { condition } of rules) generator.count(condition);
  const checks: string[] = [];
  let length = 0;
  for (let i = 0; i < rules.length; i++) {
    const { condition, percentage } = rules[i]!;
    const holds = generator.condition(condition);
    const admit = percentage === undefined ? 'true' : generator.percentage(percentage);
    const check = `  if (${holds} && ${admit}) return ${i};`;
    length += check.length + 1;
    if (length > MAX_GENERATED_SOURCE) return undefined;
    checks.push(check);
  }
  const locals = ['v', 'd = -1'];
  for (let i = 0; i < generator.fields; i++) locals.push(`f${i} = k0`);
  for (let i = 0; i < generator.predicates; i++) locals.push(`p${i} = 2`);
  // Each constant is bound once to a `const` (k<i> = K[i]), which reads cheaper than `K[i]`.
  const constants: string[] = [];
  for (let i = 0; i < generator.constants.length; i++) constants.push(`k${i} = K[${i}]`);
  const source = [
    '"use strict";',
    `const ${constants.join(', ')};`,
    'return function first(req) {',
    `  let ${locals.join(', ')};`,
    ...checks,
    '  return -1;',
    '};',
  ].join('\n');
  if (source.length > MAX_GENERATED_SOURCE) return undefined;
  const build = new Function('K', source) as (constants: readonly unknown[]) => FirstMatch;
  return { first: build(generator.constants), source };
}

/** The shortest line a rule adds to the generated source. */
const MIN_CHECK_LENGTH = '  if (x && true) return 0;'.length + 1;

/** Whether `rules` rules may fit in a generated function at all (more never do). */
export function mayFit(rules: number): boolean {
  return rules * MIN_CHECK_LENGTH <= MAX_GENERATED_SOURCE;
}

/**
 * Longest generated source. V8 optimises only functions of up to about 60 KB of bytecode; a larger
 * generated function runs unoptimised and is slower than the closures (measured: about 100 lanes
 * of 5 conditions fit; from about 120, the closures win). Around 90 such lanes fit under this.
 */
export const MAX_GENERATED_SOURCE = 64 * 1024;

/** Not-yet-read marker of a field local (a value no reader can return). */
const UNREAD = Object.freeze({ unread: true });

class Generator {
  /** `K`: UNREAD first (`k0`), then every rule-derived value, referenced by index only. */
  readonly constants: unknown[] = [UNREAD];
  fields = 0;
  predicates = 0;
  readonly #fieldLocals = new Map<string, number>();
  readonly #uses = new Map<string, number>();
  readonly #predicateLocals = new Map<string, number>();
  #draw: string | undefined;

  constructor(
    private readonly attributes: Readonly<Record<string, Attribute>>,
    private readonly random: () => number,
    private readonly regexes: RegexTable,
  ) {}

  /** Counts predicate uses, so that those used more than once are evaluated once per request. */
  count(condition: Condition): void {
    if ('all' in condition || 'any' in condition) {
      for (const child of 'all' in condition ? condition.all : condition.any) this.count(child);
      return;
    }
    const key = predicateKey(condition);
    this.#uses.set(key, (this.#uses.get(key) ?? 0) + 1);
  }

  condition(condition: Condition): string {
    if ('all' in condition || 'any' in condition) {
      const all = 'all' in condition;
      const children = (all ? condition.all : condition.any).map((child) => this.condition(child));
      if (children.length === 0) return all ? 'true' : 'false';
      return `(${children.join(all ? ' && ' : ' || ')})`;
    }
    const key = predicateKey(condition);
    if ((this.#uses.get(key) ?? 0) < 2) return this.predicate(condition);
    let local = this.#predicateLocals.get(key);
    if (local === undefined) {
      local = this.predicates++;
      this.#predicateLocals.set(key, local);
    }
    // p<n>: 2 = not evaluated yet, else 1 / 0.
    return `(p${local} === 2 ? (p${local} = ${this.predicate(condition)} ? 1 : 0) : p${local}) === 1`;
  }

  percentage({ value, key }: Percentage): string {
    if (key === undefined) return `${this.draw()} < ${this.constant(value)}`;
    return `((v = ${this.field(key)}) !== undefined && ${this.constant(stickyTest(value))}(v))`;
  }

  /** A predicate as an expression. `v` is a scratch local, assigned and used within one predicate. */
  private predicate(predicate: Predicate): string {
    if (predicate.operator === 'random') return `(${this.draw()} < ${this.constant(predicate.percentage)})`;
    const field = this.field(predicate);
    const test = (expression: string) => `((v = ${field}) !== undefined && ${expression})`;
    switch (predicate.operator) {
      case 'exists':
        return `(${field} !== undefined)`;
      case 'not exists':
        return `(${field} === undefined)`;
      case 'in':
      case 'not in': {
        const list = predicate.values;
        if (predicate.operator === 'in' && list.length === 1) return `(${field} === ${this.constant(list[0])})`;
        if (predicate.operator === 'in' && list.length === 2) {
          return `((v = ${field}) === ${this.constant(list[0])} || v === ${this.constant(list[1])})`;
        }
        const set = this.constant(new Set(list));
        return test(predicate.operator === 'in' ? `${set}.has(v)` : `!${set}.has(v)`);
      }
      case 'prefix':
        return test(`v.startsWith(${this.constant(predicate.value)})`);
      case 'suffix':
        return test(`v.endsWith(${this.constant(predicate.value)})`);
      case 'contains':
        return test(`v.includes(${this.constant(predicate.value)})`);
      case 'regex': {
        const regex = this.regexes.get(predicate.value);
        if (typeof regex === 'string') throw new Error(regex); // refused earlier by the closure compiler
        return test(`v.length <= ${this.constant(MAX_REGEX_INPUT)} && ${this.constant(regex)}.test(v)`);
      }
      case 'modulo':
        return test(`${this.constant(moduloTest(predicate.divisor, predicate.remainder, predicate.compare))}(v)`);
      case 'sticky':
        return test(`${this.constant(stickyTest(predicate.percentage))}(v)`);
      default:
        if (isStringEquality(predicate.operator)) return `(${field} === ${this.constant(predicate.value)})`;
        return test(`${this.constant(valueComparison(predicate.operator, predicate.value))}(v)`);
    }
  }

  /** The field's local, read on first use: `(f<n> === k0 ? (f<n> = <read>) : f<n>)` (k0: not read yet). */
  private field(field: Field): string {
    const key = fieldKey(field);
    let local = this.#fieldLocals.get(key);
    if (local === undefined) {
      local = this.fields++;
      this.#fieldLocals.set(key, local);
    }
    const f = `f${local}`;
    return `(${f} === k0 ? (${f} = ${this.read(field)}) : ${f})`;
  }

  private read(field: Field): string {
    switch (field.type) {
      case 'header':
        return `req.header(${this.constant(field.name)})`;
      case 'query':
        return `req.query(${this.constant(field.name)})`;
      case 'cookie':
        return `req.cookie(${this.constant(field.name)})`;
      case 'path':
        return 'req.path';
      case 'method':
        return 'req.method';
      case 'host':
        return 'req.host';
      case 'attribute': {
        const read = fieldReader(field, this.attributes);
        if (typeof read === 'string') throw new Error(read); // refused earlier by the closure compiler
        return `${this.constant(read)}(req)`;
      }
    }
  }

  /** The request's random bucket, drawn on first use: shared by every random test of the request. */
  private draw(): string {
    if (this.#draw === undefined) {
      const random = this.random;
      this.#draw = `(d < 0 ? (d = ${this.constant(() => Math.min(99, Math.floor(random() * 100)))}()) : d)`;
    }
    return this.#draw;
  }

  /** `k<i>` (bound to `K[i]`) for a new constant `value`: the only way a rule-derived value reaches the source. */
  private constant(value: unknown): string {
    return `k${this.constants.push(value) - 1}`;
  }
}
