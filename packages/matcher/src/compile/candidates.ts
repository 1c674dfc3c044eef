import type { Condition } from '@graylane/rules';
import type { RequestView } from '../request-view.js';
import type { Memo } from './memo.js';
import type { Test } from './predicate.js';
import { fieldValue } from './state.js';
import type { Frame } from './state.js';

/**
 * Each rule's key, in the order rules are tried: a value its field must have for the rule to hold.
 * A rule's condition implies `field(slot) ∈ values` where `==` or `in` is the condition, one of an
 * `all`'s members, or every member of an `any` on the same field. Attribute fields never key a
 * rule: reading one runs the user's function, and the index reads its fields before any rule is
 * tried. Kept in two arrays, with the rules' own strings and lists as values, so that keying
 * 20,000 rules makes no object per rule (a compile's garbage is what its collections copy).
 */
export class RuleKeys {
  /** Each rule's keyed field slot, or -1 when it has no key (it is a candidate for every request). */
  readonly slots: number[] = [];
  /** Each rule's values: one string, or a list; `undefined` when it has no key. */
  readonly values: (string | readonly string[] | undefined)[] = [];
  readonly #memo: Memo;
  /** The values {@link find} found. */
  #found: string | readonly string[] | undefined;

  constructor(memo: Memo) {
    this.#memo = memo;
  }

  /** Adds the key of the next rule's condition (its fields compiled: they have their slots). */
  push(condition: Condition): void {
    const slot = this.#find(condition);
    this.slots.push(slot);
    this.values.push(slot < 0 ? undefined : this.#found);
  }

  /** The slot of `condition`'s key, its values in `#found`; -1 when it has none. */
  #find(condition: Condition): number {
    if ('all' in condition) {
      for (const child of condition.all) {
        const slot = this.#find(child);
        if (slot >= 0) return slot;
      }
      return -1;
    }
    if ('any' in condition) {
      let slot = -1;
      let values: string[] | undefined;
      for (const child of condition.any) {
        const one = this.#find(child);
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

  private constructor(slots: Int32Array, lists: Map<string, number>[], postings: Int32Array, unkeyed: number) {
    this.#slots = slots;
    this.#lists = lists;
    this.#postings = postings;
    this.#unkeyed = unkeyed;
  }

  /**
   * The index of `keys` (one per rule, in the order rules are tried), built in steps (a yield
   * every 256 rules); `undefined` when no rule has a key, since the index would then only add
   * lookups to the scan.
   */
  static *build(keys: RuleKeys): Generator<void, CandidateIndex | undefined, void> {
    const bySlot = new Map<number, Map<string, number | number[]>>();
    const count = keys.slots.length;
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
      const slot = keys.slots[rule]!;
      if (slot < 0) {
        unkeyed++;
        continue;
      }
      let values = bySlot.get(slot);
      if (values === undefined) bySlot.set(slot, (values = new Map()));
      const key = keys.values[rule]!;
      if (typeof key === 'string') add(values, key, rule);
      else for (const value of key) add(values, value, rule);
    }
    if (bySlot.size === 0) return undefined;

    // Each list takes its length and its rules; a value seen once holds one rule.
    let size = unkeyed;
    for (const values of bySlot.values()) for (const rules of values.values()) size += 1 + (typeof rules === 'number' ? 1 : rules.length);
    const postings = new Int32Array(size);
    let at = 0;
    for (let rule = 0; rule < count; rule++) if (keys.slots[rule]! < 0) postings[at++] = rule;
    const slots = new Int32Array(bySlot.size);
    const lists: Map<string, number>[] = [];
    let done = 0;
    // Each map is given its values' offsets in place (setting a key that exists keeps the order).
    for (const [slot, values] of bySlot) {
      slots[lists.length] = slot;
      for (const [value, rules] of values) {
        values.set(value, at);
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
    }
    return new CandidateIndex(slots, lists, postings, unkeyed);
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
