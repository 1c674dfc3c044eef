/** Longest regex pattern accepted; longer patterns are rejected (see docs/reference/rules.md). */
export const MAX_REGEX_LENGTH = 256;

/** Deepest nesting accepted in a rule document, so hostile input cannot exhaust the stack. */
export const MAX_DOCUMENT_DEPTH = 32;

/** Most issues reported for one input; the rest are summarised in one last issue. */
export const MAX_ISSUES = 200;

/** Longest rule text accepted, in characters (32 Mi); see docs/reference/rules.md. */
export const MAX_RULE_TEXT_LENGTH = 32 * 1024 * 1024;

/** Most documents (YAML `---` documents or JSON list items) in one rule text. */
export const MAX_DOCUMENTS = 100_000;

/** Most lanes in one merged rule set. */
export const MAX_LANES = 100_000;

/** Most predicates (conditions that test the request, after AND/OR) in one merged rule set. */
export const MAX_CONDITIONS = 1_000_000;
