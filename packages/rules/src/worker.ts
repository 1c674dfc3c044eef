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

/** What {@link parseRulesInWorker} resolves with: {@link ParsedRules}, the rules' fallback policy and the text's MD5. */
export interface ParsedRulesWithPolicy extends ParsedRules {
  readonly policy: FallbackPolicy;
  /** MD5 of the text (UTF-8), in hex, as the Nacos console shows it: hashing 2.6 MB takes 10 ms, done on the worker too. */
  readonly md5: string;
}

/**
 * Rule texts longer than this (in UTF-16 units, `text.length`) are parsed on the rules worker by
 * graylane's loaders (a serving process's rules manager, the command line) and compiled in slices;
 * shorter ones parse and compile in a few milliseconds, less than the hand-over costs. 128 KiB is
 * about 1,000 lanes of three conditions.
 */
export const PARSE_IN_WORKER_CHARS = 128 * 1024;

/**
 * Lanes per message from the worker. Each message is deserialised on a turn of its own: at 200
 * lanes of three conditions a message held the loop about 10 ms on the benchmark machine, at 50
 * none held it over 2.5 ms (measured on the 10,000-lane reload). Slicing finer does not lower the
 * reload's longest block: the young-generation GC the arriving lanes cause (up to about 9 ms a
 * pause at 10,000 lanes) falls on whichever turn it falls on.
 */
const LANES_PER_MESSAGE = 50;

/**
 * The worker's program, in CommonJS (an `eval` worker): it loads this package's CommonJS build
 * (resolved by name from this file, outside any test runner's module mapping) and serves parses
 * one at a time. A parse posts its lanes in slices, one slice each time the parent asks for the
 * next (`more`); the parent asks from a later turn of its event loop, so every slice is
 * deserialised on a turn of its own. Posted all at once, the slices would queue up, and a port
 * delivers what is queued in one turn: 133 ms at 10,000 lanes, measured.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
// On Linux a priority is a thread's own: this thread yields the CPU to the event loop it serves.
if (process.platform === 'linux') {
  try {
    require('node:os').setPriority(19);
  } catch {}
}
const { parseRules, fallbackPolicy } = require('node:module').createRequire(workerData.from)('@graylane/rules');
let job;
const post = () => {
  const { parsed, lanes } = job;
  if (job.next < lanes.length) {
    parentPort.postMessage({ type: 'lanes', lanes: lanes.slice(job.next, job.next + ${LANES_PER_MESSAGE}) });
    job.next += ${LANES_PER_MESSAGE};
    return;
  }
  const { groups, workloads } = parsed.rules;
  const { md5 } = job;
  job = undefined;
  parentPort.postMessage({ type: 'done', groups, workloads, warnings: parsed.warnings, policy: fallbackPolicy(parsed.rules), md5 });
};
parentPort.on('message', (message) => {
  if (message.type === 'more') return job && post();
  job = undefined;
  let parsed;
  try {
    parsed = parseRules(message.text, message.options);
  } catch (error) {
    const graylane = Boolean(error && typeof error.code === 'string' && error.code.startsWith('GRAYLANE_ERR_'));
    return parentPort.postMessage({ type: 'error', graylane, code: error && error.code, message: String(error && error.message), details: graylane ? error.details : undefined });
  }
  job = { parsed, lanes: parsed.rules.lanes, next: 0, md5: createHash('md5').update(message.text, 'utf8').digest('hex') };
  post();
});
`;

type WorkerMessage =
  | { type: 'lanes'; lanes: Lane[] }
  | { type: 'done'; groups: LaneRuleSet['groups']; workloads: LaneRuleSet['workloads']; warnings: RuleIssue[]; policy: FallbackPolicy; md5: string }
  | { type: 'error'; graylane: boolean; code: unknown; message: string; details: Record<string, unknown> | undefined };

/** What the worker is asked to do: one parse, told of each message until it settles. */
interface Job {
  readonly text: string;
  readonly options: ParseRulesOptions;
  /** Handles one message; returns true once the job is settled. */
  onMessage(message: WorkerMessage): boolean;
  onFailure(error: Error): void;
}

/**
 * The process's rules worker: started by the first parse, then kept for the next ones, and
 * unreferenced while idle (it never keeps a process alive). Kept because ending a thread is not
 * free for the one that started it: terminating the worker after a 10,000-lane parse held the
 * parent's event loop for 20 to 64 ms (its teardown, and a full collection of the parent's heap
 * that came with it), on every reload. A parse that is aborted terminates the worker; the next
 * parse starts a new one.
 */
class RulesWorker {
  #worker: Worker | undefined;
  readonly #queue: Job[] = [];
  #running: Job | undefined;

  run(job: Job): () => void {
    this.#queue.push(job);
    this.#next();
    return () => this.#cancel(job);
  }

  #next(): void {
    if (this.#running || this.#queue.length === 0) return;
    const job = this.#queue.shift()!;
    this.#running = job;
    const worker = this.#spawn();
    worker.ref();
    worker.postMessage({ type: 'parse', text: job.text, options: job.options });
  }

  #spawn(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { from: import.meta.url } });
    worker.on('message', (message: WorkerMessage) => {
      const job = this.#running;
      if (!job) return;
      if (job.onMessage(message)) {
        this.#running = undefined;
        worker.unref();
        this.#next();
      } else if (message.type === 'lanes') {
        setImmediate(() => {
          if (this.#running === job && this.#worker === worker) worker.postMessage({ type: 'more' });
        });
      }
    });
    const fail = (error: Error) => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      const job = this.#running;
      this.#running = undefined;
      job?.onFailure(error);
      this.#next();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the rules worker exited (code ${code}) before it answered`)));
    this.#worker = worker;
    return worker;
  }

  #cancel(job: Job): void {
    const queued = this.#queue.indexOf(job);
    if (queued >= 0) {
      this.#queue.splice(queued, 1);
      return;
    }
    if (this.#running !== job) return;
    // A parse in progress cannot be interrupted otherwise.
    const worker = this.#worker;
    this.#worker = undefined;
    this.#running = undefined;
    void worker?.terminate();
    this.#next();
  }
}

const rulesWorker = new RulesWorker();

/**
 * {@link parseRules} on a worker thread, for a process that serves requests while rules load or
 * reload, and for a command line that must answer signals during a long parse: the calling thread
 * only receives the result, in slices of lanes, each a short turn of its event loop. Same result,
 * same errors as `parseRules` (a `GraylaneError` with `GRAYLANE_ERR_RULE_INVALID` and every issue).
 * Parses run one at a time on one worker thread, which stays (idle, unreferenced) for the next.
 *
 * @throws GraylaneError `GRAYLANE_ERR_RULE_INVALID` listing every problem in `details.issues` (the promise rejects).
 */
export function parseRulesInWorker(text: string, options: ParseInWorkerOptions = {}): Promise<ParsedRulesWithPolicy> {
  const { signal, ...parseOptions } = options;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const lanes: Lane[] = [];
    const onAbort = () => {
      cancel();
      reject(signal!.reason);
    };
    const done = () => signal?.removeEventListener('abort', onAbort);
    const cancel = rulesWorker.run({
      text,
      options: parseOptions,
      onMessage(message) {
        if (message.type === 'lanes') {
          for (const lane of message.lanes) lanes.push(lane);
          return false;
        }
        done();
        if (message.type === 'done') {
          const { groups, workloads, warnings, policy, md5 } = message;
          resolve({ rules: { lanes, groups, workloads }, warnings, policy, md5 });
        } else {
          reject(workerError(message));
        }
        return true;
      },
      onFailure(error) {
        done();
        reject(error);
      },
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function workerError(message: Extract<WorkerMessage, { type: 'error' }>): Error {
  if (message.graylane) return new GraylaneError(message.code as ErrorCode, message.message, { details: message.details ?? {} });
  return Object.assign(new Error(message.message), typeof message.code === 'string' ? { code: message.code } : {});
}
