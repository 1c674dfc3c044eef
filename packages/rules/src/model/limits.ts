/** Longest regex pattern accepted; longer patterns are rejected (see docs/reference/rules.md). */
export const MAX_REGEX_LENGTH = 256;

/** Deepest nesting accepted in a rule document, so hostile input cannot exhaust the stack. */
export const MAX_DOCUMENT_DEPTH = 32;

/** Most issues reported for one input; the rest are summarised in one last issue. */
export const MAX_ISSUES = 200;
