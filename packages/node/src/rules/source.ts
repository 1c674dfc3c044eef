/** Receives a rule source's content: the whole rule text, or `undefined` when there is none. */
export type RuleSourceListener = (text: string | undefined) => void;

/**
 * Where lane rules come from: a file, a Nacos config, or anything that can read and watch text.
 * {@link createRulesManager} reads it once at start and then follows its changes.
 *
 * @example A source for rules held in memory
 * ```ts
 * const listeners = new Set<RuleSourceListener>();
 * let text = 'lanes: []';
 * const memory: RuleSource = {
 *   kind: 'memory',
 *   location: 'inline',
 *   load: async () => text,
 *   watch(listener) {
 *     listeners.add(listener);
 *     return () => listeners.delete(listener);
 *   },
 * };
 * ```
 */
export interface RuleSource {
  /** What kind of source this is (`file`, `nacos`, ...); a metric attribute and part of the status. */
  readonly kind: string;
  /** Where in that kind of source the rules are (a file path, `group/dataId`); for logs and the status. */
  readonly location: string;
  /**
   * Reads the current rule text, `undefined` when there is none (no such file, no such config).
   * Rejects when the source cannot be read right now (server unreachable, permission denied).
   */
  load(): Promise<string | undefined>;
  /**
   * Calls `listener` with the new content after every change. It may also be called with the
   * current content, or with unchanged content: listeners ignore repeats. Returns a function that
   * stops this listener.
   */
  watch(listener: RuleSourceListener): () => void;
  /** Releases what the source holds (connections, watchers). */
  close?(): Promise<void> | void;
  /**
   * Resolves once the source can be read, for a source that makes its client on first use
   * (`nacosRuleSource`); a rejection (invalid client options) is final: the rules manager's
   * `ready()` rejects with it instead of retrying. Optional.
   */
  opened?(): Promise<void>;
}
