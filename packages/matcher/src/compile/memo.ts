import type { Condition, Field, Predicate } from '@graylane/rules';
import type { RequestView } from '../request-view.js';
import type { MatchState } from './state.js';

/**
 * Compile-time sharing: identical predicates, and identical field reads, used in more than one
 * place are evaluated at most once per request. Results are stamped with the request's epoch, so
 * nothing is cleared or allocated between requests.
 */
export class Memo {
  readonly #uses = new Map<string, number>();
  readonly #memos = new Map<string, (req: RequestView) => unknown>();

  constructor(private readonly state: MatchState) {}

  /** Counts the field reads and predicates of `condition` (first pass). */
  count(condition: Condition): void {
    if ('all' in condition || 'any' in condition) {
      for (const child of 'all' in condition ? condition.all : condition.any) this.count(child);
      return;
    }
    this.countKey(predicateKey(condition));
    if (condition.operator !== 'random') this.countKey(fieldKey(condition));
  }

  /** Counts a field read outside a predicate (a sticky percentage key). */
  countField(field: Field): void {
    this.countKey(fieldKey(field));
  }

  /** `read`, memoised when the field is read in more than one place. */
  field<T>(field: Field, read: (req: RequestView) => T): (req: RequestView) => T {
    return this.wrap(fieldKey(field), read);
  }

  /** `test`, memoised when the predicate appears in more than one place. */
  predicate(predicate: Predicate, test: (req: RequestView) => boolean): (req: RequestView) => boolean {
    return this.wrap(predicateKey(predicate), test);
  }

  private countKey(key: string): void {
    this.#uses.set(key, (this.#uses.get(key) ?? 0) + 1);
  }

  private wrap<T>(key: string, compute: (req: RequestView) => T): (req: RequestView) => T {
    if ((this.#uses.get(key) ?? 0) < 2) return compute;
    const existing = this.#memos.get(key);
    if (existing) return existing as (req: RequestView) => T;
    const state = this.state;
    let stamp = -1;
    let value: T;
    const memoised = (req: RequestView): T => {
      if (stamp !== state.epoch) {
        value = compute(req);
        stamp = state.epoch;
      }
      return value;
    };
    this.#memos.set(key, memoised);
    return memoised;
  }
}

function fieldKey(field: Field): string {
  return `${field.type}\u0000${field.name}`;
}

function predicateKey(predicate: Predicate): string {
  return JSON.stringify(predicate);
}
