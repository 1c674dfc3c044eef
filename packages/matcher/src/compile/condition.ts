import type { Condition, RuleIssue } from '@graylane/rules';
import type { Attribute } from './field.js';
import { compilePredicate } from './predicate.js';
import type { Test } from './predicate.js';
import type { MatchState } from './state.js';

const always: Test = () => true;

/** Compiles a condition tree into one test; problems are pushed to `issues` under `path`. */
export function compileCondition(
  condition: Condition,
  path: string,
  attributes: Readonly<Record<string, Attribute>>,
  state: MatchState,
  issues: RuleIssue[],
): Test {
  if ('all' in condition || 'any' in condition) {
    const key = 'all' in condition ? 'all' : 'any';
    const children = ('all' in condition ? condition.all : condition.any).map((child, i) =>
      compileCondition(child, `${path}.${key}[${i}]`, attributes, state, issues),
    );
    if (children.length === 0) return key === 'all' ? always : () => false;
    if (children.length === 1) return children[0]!;
    return key === 'all' ? every(children) : some(children);
  }
  const test = compilePredicate(condition, attributes, state);
  if (typeof test === 'string') {
    const field = condition.operator === 'regex' ? 'value' : 'name';
    issues.push({ path: `${path}.${field}`, message: test, severity: 'error' });
    return () => false;
  }
  return test;
}

function every(tests: readonly Test[]): Test {
  const n = tests.length;
  return (req) => {
    for (let i = 0; i < n; i++) if (!tests[i]!(req)) return false;
    return true;
  };
}

function some(tests: readonly Test[]): Test {
  const n = tests.length;
  return (req) => {
    for (let i = 0; i < n; i++) if (tests[i]!(req)) return true;
    return false;
  };
}
