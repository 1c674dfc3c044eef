export { compileMatcher, compileMatcherInSlices } from './matcher.js';
export type { CompileInSlicesOptions, CompileMatcherOptions, ExplainedRule, LaneMatcher, MatchExplanation } from './matcher.js';
export { MAX_COOKIE_LENGTH, MAX_PAIRS, MAX_QUERY_LENGTH, requestView, requestViewFromNode } from './request-view.js';
export type { RequestParts, RequestView } from './request-view.js';
export type { Attribute } from './compile/field.js';
export { MAX_REGEX_INPUT } from './compile/regex.js';
export { fnv1a32, stickyBucket } from './hash.js';
