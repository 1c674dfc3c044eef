import type { Condition } from '@graylane/rules';
import type { RequestView } from '../request-view.js';
import type { Memo } from './memo.js';
import type { Test } from './predicate.js';
import { fieldValue } from './state.js';
import type { Frame } from './state.js';

/**
 * What each rule requires of the request's fields, in the order rules are tried: options
 * `field(slot) ∈ values`, each implied by the rule's condition: an `==` or `in` predicate that is
 * the condition or a member of an `all` (every such member is an option), or an `any` whose every
 * member has one on the same field (the union of their values). Attribute fields are never an
 * option: reading one runs the user's function, and the index reads its fields before any rule is
 * tried. Kept in flat arrays, with the rules' own strings and lists as values, so that 20,000
 * rules make no object each (a compile's garbage is what its collections copy).
 */
export class RuleKeys {
  /** Each option's field slot. */
  readonly slots: number[] = [];
  /** Each option's values: one string, or a list. */
  readonly values: (string | readonly string[])[] = [];
  /** Where each rule's options start in `slots` and `values`; the last entry is where the next rule's would. */
  readonly starts: number[] = [0];
  /** Whether some rule has more than one option (the index then chooses the rarest). */
  choices = false;
  readonly #memo: Memo;
  /** The values `#first` found. */
  #found: string | readonly string[] | undefined;

  constructor(memo: Memo) {
    this.#memo = memo;
  }

  /** Rules added. */
  get rules(): number {
    return this.starts.length - 1;
  }

  /** Adds the options of the next rule's condition (its fields compiled: they have their slots). */
  push(condition: Condition): void {
    this.#options(condition);
    const options = this.slots.length - this.starts[this.starts.length - 1]!;
    if (options > 1) this.choices = true;
    this.starts.push(this.slots.length);
  }

  #options(condition: Condition): void {
    if ('all' in condition) {
      for (const child of condition.all) this.#options(child);
      return;
    }
    const slot = this.#first(condition);
    if (slot >= 0) {
      this.slots.push(slot);
      this.values.push(this.#found!);
    }
  }

  /** The slot of `condition`'s first option, its values in `#found`; -1 when it has none. */
  #first(condition: Condition): number {
    if ('all' in condition) {
      for (const child of condition.all) {
        const slot = this.#first(child);
        if (slot >= 0) return slot;
      }
      return -1;
    }
    if ('any' in condition) {
      let slot = -1;
      let values: string[] | undefined;
      for (const child of condition.any) {
        const one = this.#first(child);
        if (one < 0 || (slot >= 0 && one !== slot)) return -1;
        slot = one;
        (values ??= []).push(...(typeof this.#found === 'string' ? [this.#found] : this.#found!));
      }
      this.#found = values;
      return slot;
    }
    if (condition.operator === 'random' || condition.type === 'attribute') return -1;
    const values = condition.operator === '==' ? condition.value : condition.operator === 'in' ? condition.values : undefined;
    if (values === undefined) return -1;
    this.#found = values;
    return this.#memo.slotOf(condition) ?? -1;
  }
}

/**
 * The rules each request can match, found by the values of its keyed fields: a request whose
 * `x-user-id` is `u-7` is tried against the rules keyed `x-user-id ∈ {…, u-7, …}` and the rules
 * with no key, never against the thousands keyed on other users. Rules are tried in their order,
 * so the first that holds is the one a scan of every rule would find.
 *
 * Laid out in one `Int32Array` (`postings`): the unkeyed rules from 0, then one list for each
 * keyed field's value, its length first. A map per keyed field gives a value's list; each rule is
 * in the lists of one field, so a request meets it at most once.
 */
export class CandidateIndex {
  readonly #slots: Int32Array;
  readonly #lists: readonly Map<string, number>[];
  readonly #postings: Int32Array;
  readonly #unkeyed: number;
  /** The most rules a request can be tried against: the unkeyed ones and the longest list of each keyed field. */
  readonly mostTried: number;

  private constructor(slots: Int32Array, lists: Map<string, number>[], postings: Int32Array, unkeyed: number, mostTried: number) {
    this.#slots = slots;
    this.#lists = lists;
    this.#postings = postings;
    this.#unkeyed = unkeyed;
    this.mostTried = mostTried;
  }

  /**
   * The index of `keys` (one per rule, in the order rules are tried), built in steps (a yield
   * every 256 rules); `undefined` when no rule has a key, since the index would then only add
   * lookups to the scan.
   */
  static *build(keys: RuleKeys): Generator<void, CandidateIndex | undefined, void> {
    const count = keys.rules;
    // A rule with several options is keyed on the one fewest rules share (summed over its values):
    // `x-env == prod and x-user-id == u-7` on `x-user-id`, not on what every lane requires.
    const shared = keys.choices ? yield* shares(keys) : undefined;
    const bySlot = new Map<number, Map<string, number | number[]>>();
    let unkeyed = 0;
    const add = (values: Map<string, number | number[]>, value: string, rule: number) => {
      const rules = values.get(value);
      if (rules === undefined) values.set(value, rule);
      else if (typeof rules === 'number') {
        if (rules !== rule) values.set(value, [rules, rule]);
      } else if (rules[rules.length - 1] !== rule) rules.push(rule);
    };
    for (let rule = 0; rule < count; rule++) {
      if (rule % 256 === 255) yield;
      const start = keys.starts[rule]!;
      const end = keys.starts[rule + 1]!;
      if (start === end) {
        unkeyed++;
        continue;
      }
      let option = start;
      if (shared && end - start > 1) {
        let fewest = Infinity;
        for (let o = start; o < end; o++) {
          const rules = sharing(shared, keys.slots[o]!, keys.values[o]!);
          if (rules < fewest) {
            fewest = rules;
            option = o;
          }
        }
      }
      const slot = keys.slots[option]!;
      let values = bySlot.get(slot);
      if (values === undefined) bySlot.set(slot, (values = new Map()));
      const key = keys.values[option]!;
      if (typeof key === 'string') add(values, key, rule);
      else for (const value of key) add(values, value, rule);
    }
    if (bySlot.size === 0) return undefined;

    // Each list takes its length and its rules; a value seen once holds one rule.
    let size = unkeyed;
    for (const values of bySlot.values()) for (const rules of values.values()) size += 1 + (typeof rules === 'number' ? 1 : rules.length);
    const postings = new Int32Array(size);
    let at = 0;
    for (let rule = 0; rule < count; rule++) if (keys.starts[rule] === keys.starts[rule + 1]) postings[at++] = rule;
    const slots = new Int32Array(bySlot.size);
    const lists: Map<string, number>[] = [];
    let done = 0;
    let mostTried = unkeyed;
    // Each map is given its values' offsets in place (setting a key that exists keeps the order).
    for (const [slot, values] of bySlot) {
      slots[lists.length] = slot;
      let longest = 0;
      for (const [value, rules] of values) {
        values.set(value, at);
        longest = Math.max(longest, typeof rules === 'number' ? 1 : rules.length);
        if (typeof rules === 'number') {
          postings[at++] = 1;
          postings[at++] = rules;
        } else {
          postings[at++] = rules.length;
          for (const rule of rules) postings[at++] = rule;
        }
        if (++done % 1024 === 0) yield;
      }
      lists.push(values as Map<string, number>);
      mostTried += longest;
    }
    return new CandidateIndex(slots, lists, postings, unkeyed, mostTried);
  }

  /** Entries of a frame's `cursors`: a position and an end for each list a request can meet (the unkeyed rules, one per keyed field). */
  get cursors(): number {
    return 2 * (1 + this.#slots.length);
  }

  /**
   * The first of `tests` that holds for the request, among its candidates, or -1. `frame.cursors`
   * (of {@link cursors} entries) holds each list's position and end while it runs.
   */
  first(req: RequestView, frame: Frame, tests: readonly Test[]): number {
    const postings = this.#postings;
    const cursors = frame.cursors;
    let lists = 0;
    if (this.#unkeyed > 0) {
      cursors[0] = 0;
      cursors[1] = this.#unkeyed;
      lists = 1;
    }
    const slots = this.#slots;
    for (let i = 0; i < slots.length; i++) {
      const value = fieldValue(req, frame, slots[i]!);
      if (value === undefined) continue;
      const at = this.#lists[i]!.get(value);
      if (at === undefined) continue;
      cursors[2 * lists] = at + 1;
      cursors[2 * lists + 1] = at + 1 + postings[at]!;
      lists++;
    }
    for (;;) {
      let next = -1;
      let rule = 0x7fffffff;
      for (let list = 0; list < lists; list++) {
        const at = cursors[2 * list]!;
        if (at < cursors[2 * list + 1]! && postings[at]! < rule) {
          rule = postings[at]!;
          next = list;
        }
      }
      if (next < 0) return -1;
      cursors[2 * next] = cursors[2 * next]! + 1;
      if (tests[rule]!(req, frame)) return rule;
    }
  }
}

/** For each field slot, how many rules have an option requiring each value of it. */
type Shares = Map<number, Map<string, number>>;

function* shares(keys: RuleKeys): Generator<void, Shares, void> {
  const shares: Shares = new Map();
  for (let rule = 0; rule < keys.rules; rule++) {
    if (rule % 256 === 255) yield;
    for (let o = keys.starts[rule]!; o < keys.starts[rule + 1]!; o++) {
      let counts = shares.get(keys.slots[o]!);
      if (counts === undefined) shares.set(keys.slots[o]!, (counts = new Map()));
      const values = keys.values[o]!;
      if (typeof values === 'string') counts.set(values, (counts.get(values) ?? 0) + 1);
      else for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
    }
  }
  return shares;
}

/** How many rules share an option's values, added up. */
function sharing(shares: Shares, slot: number, values: string | readonly string[]): number {
  const counts = shares.get(slot)!;
  if (typeof values === 'string') return counts.get(values)!;
  let rules = 0;
  for (const value of values) rules += counts.get(value)!;
  return rules;
}
