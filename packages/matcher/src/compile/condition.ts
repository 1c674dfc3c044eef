import type { Condition, RuleIssue } from '@graylane/rules';
import { fieldReader } from './field.js';
import type { Attribute } from './field.js';
import type { Memo } from './memo.js';
import type { RegexTable } from './regex.js';
import { compilePredicate } from './predicate.js';
import type { Test } from './predicate.js';

/** What compiling a rule set needs besides the rules. */
export interface CompileContext {
  readonly attributes: Readonly<Record<string, Attribute>>;
  readonly memo: Memo;
  readonly regexes: RegexTable;
  readonly issues: RuleIssue[];
}

const always: Test = () => true;

const never: Test = () => false;

/** Compiles a condition tree into one test; problems are pushed to `context.issues` under `path`. */
export function compileCondition(condition: Condition, path: string, context: CompileContext): Test {
  if ('all' in condition || 'any' in condition) {
    const key = 'all' in condition ? 'all' : 'any';
    const children = ('all' in condition ? condition.all : condition.any).map((child, i) =>
      compileCondition(child, `${path}.${key}[${i}]`, context),
    );
    if (children.length === 0) return key === 'all' ? always : never;
    if (children.length === 1) return children[0]!;
    return key === 'all' ? every(children) : some(children);
  }
  let slot = -1;
  if (condition.operator !== 'random') {
    const raw = fieldReader(condition, context.attributes);
    if (typeof raw === 'string') return refuse(`${path}.name`, raw, context);
    slot = context.memo.field(condition, raw);
  }
  const test = compilePredicate(condition, slot, context.regexes);
  if (typeof test === 'string') return refuse(`${path}.value`, test, context);
  return context.memo.predicate(condition, test);
}

function refuse(path: string, message: string, context: CompileContext): Test {
  context.issues.push({ path, message, severity: 'error' });
  return never;
}

function every(tests: readonly Test[]): Test {
  const n = tests.length;
  return (req, frame) => {
    for (let i = 0; i < n; i++) if (!tests[i]!(req, frame)) return false;
    return true;
  };
}

function some(tests: readonly Test[]): Test {
  const n = tests.length;
  return (req, frame) => {
    for (let i = 0; i < n; i++) if (tests[i]!(req, frame)) return true;
    return false;
  };
}
