import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ErrorCode, GraylaneError, isGraylaneError } from '@graylane/core';
import { compileMatcherInSlices } from '@graylane/matcher';
import { PARSE_IN_WORKER_CHARS, parseRules, parseRulesInWorker } from '@graylane/rules';
import type { ParsedRules } from '@graylane/rules';
import { constantAttributes } from './attributes.js';
import type { Context } from './command.js';
import { issuesOf } from './report.js';

/** A rule file, read, validated and known to compile. */
export interface RuleFile extends ParsedRules {
  /** The file's text as written. */
  readonly text: string;
  readonly format: 'yaml' | 'json';
}

/**
 * Reads and validates a rule file in any supported form, then compiles it as an application would,
 * so that problems only the matcher sees (an unsafe regex) are reported too. Every step gives up
 * when `context.signal` fires, rejecting with its reason.
 *
 * @throws GraylaneError `GRAYLANE_ERR_RULE_INVALID` with every issue in `details.issues`.
 * @throws Error with the file system's `code` (`ENOENT`, ...) when the file cannot be read.
 */
export async function readRuleFile(file: string, context: Context): Promise<RuleFile> {
  const { signal } = context;
  let text: string;
  try {
    text = await readFile(resolve(context.cwd, file), { encoding: 'utf8', signal });
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    const { code, message } = error as NodeJS.ErrnoException;
    throw Object.assign(new Error(`cannot read ${file}: ${message.replace(/^\w+: /, '')}`, { cause: error }), { code });
  }
  // The same detection as parseRules, so that the format reported is the one parsed.
  const format = /^\s*[[{]/.test(text) ? 'json' : 'yaml';
  const options = { format, source: file } as const;
  // Large files parse on the rules worker, so that a signal ends the command at once however long the parse.
  const parsed = text.length > PARSE_IN_WORKER_CHARS ? await parseRulesInWorker(text, { ...options, signal }) : parseRules(text, options);
  try {
    await compileMatcherInSlices(parsed.rules, { attributes: constantAttributes(parsed.rules) }, { sliceMs: 25, signal });
  } catch (error) {
    if (!isGraylaneError(error)) throw error;
    const message = `lane rules in ${file} cannot be compiled (paths count the lanes of the merged rule set):`;
    throw new GraylaneError(ErrorCode.RULE_INVALID, message, { details: { issues: issuesOf(error), source: file }, cause: error });
  }
  return { ...parsed, text, format };
}
