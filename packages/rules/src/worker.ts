import { Worker } from 'node:worker_threads';
import { GraylaneError } from '@graylane/core';
import type { ErrorCode } from '@graylane/core';
import type { Lane, LaneRuleSet, RuleIssue } from './model/types.js';
import type { ParseRulesOptions, ParsedRules } from './parse.js';
import type { FallbackPolicy } from './policy.js';

/** Options of {@link parseRulesInWorker}. */
export interface ParseInWorkerOptions extends ParseRulesOptions {
  /** Ends the parse: the worker is terminated and the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** What {@link parseRulesInWorker} resolves with: {@link ParsedRules} and the rules' fallback policy. */
export interface ParsedRulesWithPolicy extends ParsedRules {
  readonly policy: FallbackPolicy;
}

/** Lanes per message from the worker: each message is deserialised on its own turn of the event loop. */
const LANES_PER_MESSAGE = 200;

/**
 * The worker's program, in CommonJS (an `eval` worker): it loads this package's CommonJS build
 * (resolved by name from this file, outside any test runner's module mapping),
 * parses, and posts the lanes in slices, so that no single message costs the receiving thread more
 * than a few milliseconds to deserialise.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { parseRules, fallbackPolicy } = require('node:module').createRequire(workerData.from)('@graylane/rules');
let parsed;
try {
  parsed = parseRules(workerData.text, workerData.options);
} catch (error) {
  const graylane = Boolean(error && typeof error.code === 'string' && error.code.startsWith('GRAYLANE_ERR_'));
  parentPort.postMessage({ type: 'error', graylane, code: error && error.code, message: String(error && error.message), details: graylane ? error.details : undefined });
}
if (parsed) {
  const { lanes, groups, workloads } = parsed.rules;
  for (let i = 0; i < lanes.length; i += ${LANES_PER_MESSAGE}) parentPort.postMessage({ type: 'lanes', lanes: lanes.slice(i, i + ${LANES_PER_MESSAGE}) });
  parentPort.postMessage({ type: 'done', groups, workloads, warnings: parsed.warnings, policy: fallbackPolicy(parsed.rules) });
}
`;

type WorkerMessage =
  | { type: 'lanes'; lanes: Lane[] }
  | { type: 'done'; groups: LaneRuleSet['groups']; workloads: LaneRuleSet['workloads']; warnings: RuleIssue[]; policy: FallbackPolicy }
  | { type: 'error'; graylane: boolean; code: unknown; message: string; details: Record<string, unknown> | undefined };

/**
 * {@link parseRules} on a worker thread, for a process that serves requests while rules load or
 * reload, and for a command line that must answer signals during a long parse: the calling thread
 * only receives the result, in slices of lanes, each a short turn of its event loop. Same result,
 * same errors as `parseRules` (a `GraylaneError` with `GRAYLANE_ERR_RULE_INVALID` and every issue).
 *
 * @throws GraylaneError `GRAYLANE_ERR_RULE_INVALID` listing every problem in `details.issues` (the promise rejects).
 */
export function parseRulesInWorker(text: string, options: ParseInWorkerOptions = {}): Promise<ParsedRulesWithPolicy> {
  const { signal, ...parseOptions } = options;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { from: import.meta.url, text, options: parseOptions } });
    const lanes: Lane[] = [];
    let settled = false;
    const settle = (finish: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      finish();
    };
    const onAbort = () => settle(() => reject(signal!.reason));
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'lanes') {
        for (const lane of message.lanes) lanes.push(lane);
      } else if (message.type === 'done') {
        const { groups, workloads, warnings, policy } = message;
        settle(() => resolve({ rules: { lanes, groups, workloads }, warnings, policy }));
      } else {
        settle(() => reject(workerError(message)));
      }
    });
    worker.on('error', (error) => settle(() => reject(error)));
    worker.on('exit', (code) => settle(() => reject(new Error(`the rules worker exited (code ${code}) before it answered`))));
  });
}

function workerError(message: Extract<WorkerMessage, { type: 'error' }>): Error {
  if (message.graylane) return new GraylaneError(message.code as ErrorCode, message.message, { details: message.details ?? {} });
  return Object.assign(new Error(message.message), typeof message.code === 'string' ? { code: message.code } : {});
}
