import type { Condition, Field, Predicate } from '@graylane/rules';
import { fnv1a32 } from '../hash.js';
import type { FieldReader } from './field.js';
import type { Test } from './predicate.js';

/**
 * Compile-time sharing. Every distinct field (type and name) gets one slot, so each is read at
 * most once per request however many predicates use it; identical predicates used in more than
 * one place get a result slot and are evaluated at most once per request. Slots live in the
 * request's {@link Frame}.
 */
export class Memo {
  /**
   * How many predicates of the rules being compiled have each key, counted by a hash of the key
   * ({@link useHash}): the first pass keeps no key alive. Kept by key (a string each, and a map
   * from predicate to key for the second pass), they were much of what the young-generation
   * collections of a 10,000-lane compile copied. Counted by hash, and with the regexes' arrays
   * shared (RegexTable), the rules benchmark's full replacement held the loop 13.4 to 18.5 ms, and
   * its collections took 152 to 183 ms in all, against 17.5 to 28.9 and 259 to 326 ms before
   * (three interleaved runs each). Two keys with one hash only
   * give a predicate used once a result slot it fills and reads once: slots are found by the
   * whole key, never shared by two predicates.
   */
  readonly #uses = new Map<number, number>();
  readonly #fieldSlots: Map<string, number>;
  readonly #predicateSlots: Map<string, Test>;
  /** Readers by field slot. */
  readonly readers: FieldReader[];
  /** Number of predicate result slots. */
  predicates: number;

  /**
   * A memo of its own, or one that continues `from` (the memo of the matcher a reload replaces):
   * every slot of `from` keeps its meaning, so tests compiled against it serve unchanged, and new
   * slots come after them. Use counts start again: a predicate memoised before stays memoised; one
   * that was not, and now also appears in a new rule, may be evaluated once for each (a cost, never
   * a different decision).
   */
  constructor(from?: Memo) {
    this.#fieldSlots = new Map(from && from.#fieldSlots);
    this.#predicateSlots = new Map(from && from.#predicateSlots);
    this.readers = from ? [...from.readers] : [];
    this.predicates = from?.predicates ?? 0;
  }

  /** Ends the compile: the use counts are its own, and not kept with the matcher. */
  compiled(): void {
    this.#uses.clear();
  }

  /** Field and predicate slots in all, what a frame of this memo holds. */
  get slots(): number {
    return this.readers.length + this.predicates;
  }

  /** Counts the predicates of `condition` (first pass). */
  count(condition: Condition): void {
    if ('all' in condition || 'any' in condition) {
      for (const child of 'all' in condition ? condition.all : condition.any) this.count(child);
      return;
    }
    const hash = useHash(predicateKey(condition));
    this.#uses.set(hash, (this.#uses.get(hash) ?? 0) + 1);
  }

  /** The slot of `field`, whose reader is `read` (the first reader given for a field is kept). */
  field(field: Field, read: FieldReader): number {
    const key = fieldKey(field);
    let slot = this.#fieldSlots.get(key);
    if (slot === undefined) {
      slot = this.readers.push(read) - 1;
      this.#fieldSlots.set(key, slot);
    }
    return slot;
  }

  /** The slot `field` was given, if it was. */
  slotOf(field: Field): number | undefined {
    return this.#fieldSlots.get(fieldKey(field));
  }

  /** `test`, memoised in a result slot when the predicate appears in more than one place. */
  predicate(predicate: Predicate, test: Test): Test {
    const key = predicateKey(predicate);
    const existing = this.#predicateSlots.get(key);
    if (existing) return existing;
    if ((this.#uses.get(useHash(key)) ?? 0) < 2) return test;
    const slot = this.predicates++;
    const memoised: Test = (req, frame) => {
      if (frame.predicateStamps[slot] === frame.epoch) return frame.predicateResults[slot] === 1;
      const result = test(req, frame);
      frame.predicateResults[slot] = result ? 1 : 0;
      frame.predicateStamps[slot] = frame.epoch;
      return result;
    };
    this.#predicateSlots.set(key, memoised);
    return memoised;
  }
}

/**
 * The 30 low bits of a key's FNV-1a hash: a small integer on every V8 build (31-bit with pointer
 * compression), so that counting by it allocates no number.
 */
function useHash(key: string): number {
  return fnv1a32(key) & 0x3fffffff;
}

/** A field's identity (its type and name): fields with the same key read the same value. */
export function fieldKey(field: Field): string {
  return `${field.type}\u0000${field.name}`;
}

/**
 * A key equal for two predicates exactly when they test the same thing: every field of the
 * predicate, each string length-prefixed so that no two predicates share a key. Built for every
 * predicate twice per compile (counting, then compiling): a template is about ten times cheaper
 * than `JSON.stringify`, which was the largest cost of a 10,000-lane compile after the regexes.
 */
export function predicateKey(predicate: Predicate): string {
  if (predicate.operator === 'random') return `random ${predicate.percentage}`;
  const field = `${predicate.type} ${predicate.name.length}:${predicate.name}`;
  switch (predicate.operator) {
    case 'exists':
    case 'not exists':
      return `${field} ${predicate.operator}`;
    case 'in':
    case 'not in': {
      let key = `${field} ${predicate.operator} ${predicate.values.length}`;
      for (const value of predicate.values) key += ` ${value.length}:${value}`;
      return key;
    }
    case 'modulo':
      return `${field} modulo ${predicate.divisor} ${predicate.remainder} ${predicate.compare}`;
    case 'sticky':
      return `${field} sticky ${predicate.percentage}`;
    default:
      return `${field} ${predicate.operator} ${predicate.value.length}:${predicate.value}`;
  }
}
