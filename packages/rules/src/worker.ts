import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { GraylaneError, runInSlices } from '@graylane/core';
import type { ErrorCode } from '@graylane/core';
import type { Lane, LaneRuleSet, RuleIssue } from './model/types.js';
import type { ParseRulesOptions, ParsedRules } from './parse.js';
import { fallbackPolicySteps } from './policy.js';
import type { FallbackPolicy } from './policy.js';

/** Options of {@link parseRulesInWorker}. */
export interface ParseInWorkerOptions extends ParseRulesOptions {
  /** Ends the parse: the worker is stopped and the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /**
   * An earlier result of `parseRulesInWorker` that this text revises (a reload): the worker sends
   * only the lanes that differ from it, and every other lane of the result is the earlier result's
   * lane object itself, so that what the calling thread receives, and what a compile with
   * `previous` redoes, grows with the change rather than with the rule set. The result is the same
   * as without it (lanes equal to the text's); the worker remembers its last few results, and a
   * result it no longer has (or one from a worker since replaced) only means every lane is sent.
   */
  readonly previous?: ParsedRulesWithPolicy | undefined;
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
 * none held it over 2.5 ms (measured on the 10,000-lane reload). Slicing finer does not lower a
 * full load's longest block: the young-generation GC the arriving lanes cause (up to about 9 ms a
 * pause at 10,000 lanes) falls on whichever turn it falls on; a reload sends only what changed.
 */
const LANES_PER_MESSAGE = 50;

/**
 * Characters of a text per message to the worker: a piece is serialised in the turn it is sent
 * (a 2.6 M-character text in one message held the loop 2 to 6 ms in the reload benchmark). A piece
 * may end inside a surrogate pair: the pieces are joined as they were cut.
 */
const TEXT_CHARS_PER_MESSAGE = 256 * 1024;

/** How long the worker waits, idle after a parse, before it collects its heap. */
const IDLE_COLLECT_MS = 5000;

/** Results the worker remembers for a later parse's `previous`: the one in force, the one being applied, one spare. */
const RESULTS_KEPT = 3;

/**
 * The worker's program, in CommonJS (run with `node -e`): it loads this package's CommonJS build
 * (resolved by name from this file, outside any test runner's module mapping) and serves parses
 * one at a time. A text comes in pieces (`text` messages, then the last piece with `parse`). A
 * parse posts its lanes in slices, one slice each time the parent asks for the
 * next (`more`); the parent asks from a later turn of its event loop, so every slice is
 * deserialised on a turn of its own. Posted all at once, the slices would queue up, and the parent
 * would receive what is queued in one turn: 133 ms at 10,000 lanes, measured.
 *
 * A parse that names an earlier result (`base`, the number the worker gave it) is sent as a delta:
 * a lane's JSON is its identity, `reuse[i]` is the index of an equal lane in the earlier result
 * (each used once) or -1, and only the lanes at -1 are posted. The worker keeps the lane
 * identities of its last `RESULTS_KEPT` results (about 4 MB at 10,000 lanes each), nothing else.
 *
 * It runs in a process of its own, every thread of it at the lowest priority, its garbage
 * collector on its main thread (`--single-threaded-gc`), and it exits when the parent's channel
 * closes. A worker thread could not be kept off the serving thread's core: a thread's garbage
 * collector runs helper threads at normal priority, shared by the whole process, and while a
 * worker thread parsed 10,000 lanes they delayed the idle parent's event loop by up to about 10 ms
 * on two cores (`bench/probes/worker-gc-noise.mjs`).
 */
const WORKER_SOURCE = `
const { createHash } = require('node:crypto');
const os = require('node:os');
// The lowest priority for this process; on Linux a priority is a thread's own, so for each thread.
try {
  os.setPriority(19);
  if (process.platform === 'linux') for (const task of require('node:fs').readdirSync('/proc/self/task')) os.setPriority(Number(task), 19);
} catch {}
process.on('disconnect', () => process.exit(0));
const { parseRules } = require('node:module').createRequire(process.env.GRAYLANE_RULES_WORKER_FROM)('@graylane/rules');
const post = (message) => process.send(message);
let job;
let idle;
let results = 0;
/** Result number -> the identities of its lanes, in order: what a later parse's \`base\` names. */
const kept = new Map();
// JSON drops what it cannot hold (a non-finite number): such a value keeps its name.
const identity = (lane) => JSON.stringify(lane, (_key, value) => (typeof value === 'number' && !Number.isFinite(value) ? { number: String(value) } : value));
/** For each lane, the index of an equal lane of \`earlier\` (each used once), or -1. */
const delta = (keys, earlier) => {
  const reuse = new Int32Array(keys.length).fill(-1);
  if (!earlier) return reuse;
  const at = new Map();
  for (let i = earlier.length - 1; i >= 0; i--) {
    const list = at.get(earlier[i]);
    if (list) list.push(i);
    else at.set(earlier[i], [i]);
  }
  for (let i = 0; i < keys.length; i++) {
    const list = at.get(keys[i]);
    if (list && list.length > 0) reuse[i] = list.pop();
  }
  return reuse;
};
const next = () => {
  const { parsed, fresh } = job;
  if (job.sent < fresh.length) {
    post({ type: 'lanes', lanes: fresh.slice(job.sent, job.sent + ${LANES_PER_MESSAGE}) });
    job.sent += ${LANES_PER_MESSAGE};
    return;
  }
  const { groups, workloads } = parsed.rules;
  const { md5, keys, reuse } = job;
  job = undefined;
  const id = ++results;
  kept.set(id, keys);
  while (kept.size > ${RESULTS_KEPT}) kept.delete(kept.keys().next().value);
  post({ type: 'done', id, reuse, groups, workloads, warnings: parsed.warnings, md5 });
  // Once idle for a while, what the parses built goes back to the system, not at some later
  // collection (right after two 10,000-lane parses the worker was at 792 MB resident, 140 MB once
  // collected).
  // Not at once: collecting while the parent compiles what it was sent, the reload benchmark's
  // longest turn was 6.4 to 12.5 ms over six runs, against 5.3 to 9.0 ms without.
  clearTimeout(idle);
  idle = setTimeout(() => global.gc(), ${IDLE_COLLECT_MS});
};
/** The pieces of the text of the parse being sent. */
let pieces = [];
process.on('message', (message) => {
  if (message.type === 'more') return job && next();
  clearTimeout(idle);
  job = undefined;
  pieces.push(message.text);
  if (message.type === 'text') return;
  const text = pieces.join('');
  pieces = [];
  let parsed;
  try {
    parsed = parseRules(text, message.options);
  } catch (error) {
    const graylane = Boolean(error && typeof error.code === 'string' && error.code.startsWith('GRAYLANE_ERR_'));
    return post({ type: 'error', graylane, code: error && error.code, message: String(error && error.message), details: graylane ? error.details : undefined });
  }
  const { lanes } = parsed.rules;
  const keys = lanes.map(identity);
  const reuse = delta(keys, message.base === undefined ? undefined : kept.get(message.base));
  const fresh = lanes.filter((_lane, i) => reuse[i] < 0);
  const md5 = createHash('md5').update(text, 'utf8').digest('hex');
  job = { parsed, fresh, reuse, keys, sent: 0, md5 };
  next();
});
`;

type WorkerMessage =
  | { type: 'lanes'; lanes: Lane[] }
  | { type: 'done'; id: number; reuse: Int32Array; groups: LaneRuleSet['groups']; workloads: LaneRuleSet['workloads']; warnings: RuleIssue[]; md5: string }
  | { type: 'error'; graylane: boolean; code: unknown; message: string; details: Record<string, unknown> | undefined };

/** What the worker is asked to do: one parse, told of each message until it settles. */
interface Job {
  readonly text: string;
  readonly options: ParseRulesOptions;
  /** The earlier result the parse revises, as the worker that made it numbered it. */
  readonly base: Made | undefined;
  /** Handles one message of `worker`; returns true once the job is settled. */
  onMessage(message: WorkerMessage, worker: ChildProcess): boolean;
  onFailure(error: Error): void;
}

/**
 * The process's rules worker: started by the first parse, then kept for the next ones, and
 * unreferenced while idle (it never keeps a process alive). Kept because starting one and loading
 * the rule model in it takes about 155 ms (a small parse on the kept one: 1 ms). A parse that is
 * aborted stops the worker with a signal, which costs the parent nothing (the worker's memory is
 * its own); the next parse starts a new one.
 */
class RulesWorker {
  #worker: ChildProcess | undefined;
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
    hold(worker, true);
    // A result of a worker since replaced is unknown to this one: every lane is sent.
    const base = job.base?.worker === worker ? job.base.id : undefined;
    this.#send(worker, job, base, 0);
  }

  /**
   * Sends `job`'s text from `from` on: a piece of TEXT_CHARS_PER_MESSAGE each turn of the event
   * loop, the last with the parse. Sent whole, 2.6 M characters held the loop 2 to 6 ms.
   */
  #send(worker: ChildProcess, job: Job, base: number | undefined, from: number): void {
    if (this.#running !== job || this.#worker !== worker) return; // cancelled, or the worker is gone
    const { text } = job;
    const to = from + TEXT_CHARS_PER_MESSAGE;
    if (to >= text.length) {
      worker.send({ type: 'parse', text: from === 0 ? text : text.slice(from), options: job.options, base });
      return;
    }
    worker.send({ type: 'text', text: text.slice(from, to) });
    setImmediate(() => this.#send(worker, job, base, to));
  }

  #spawn(): ChildProcess {
    if (this.#worker) return this.#worker;
    const { NODE_OPTIONS: _options, ...env } = process.env; // an --inspect or a loader there is the parent's
    const worker = spawn(process.execPath, ['--single-threaded-gc', '--expose-gc', '-e', WORKER_SOURCE], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
      env: { ...env, GRAYLANE_RULES_WORKER_FROM: import.meta.url },
      windowsHide: true,
    });
    worker.on('message', (message: WorkerMessage) => {
      const job = this.#running;
      if (!job || this.#worker !== worker) return;
      if (job.onMessage(message, worker)) {
        this.#running = undefined;
        hold(worker, false);
        this.#next();
      } else if (message.type === 'lanes') {
        setImmediate(() => {
          if (this.#running === job && this.#worker === worker) worker.send({ type: 'more' });
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
    worker.on('exit', (code, signal) => fail(new Error(`the rules worker exited (${signal ?? `code ${code}`}) before it answered`)));
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
    worker?.kill();
    this.#next();
  }
}

/** Whether `worker` keeps the event loop alive: while it parses, and not while idle. */
function hold(worker: ChildProcess, busy: boolean): void {
  if (busy) {
    worker.ref();
    worker.channel?.ref();
  } else {
    worker.unref();
    worker.channel?.unref();
  }
}

const rulesWorker = new RulesWorker();

/** A result as the worker that made it knows it. */
interface Made {
  readonly worker: ChildProcess;
  readonly id: number;
}

/** Which worker made each result, and its number there: what `previous` sends as `base`. */
const madeBy = new WeakMap<ParsedRulesWithPolicy, Made>();

/**
 * {@link parseRules} on the rules worker, for a process that serves requests while rules load or
 * reload, and for a command line that must answer signals during a long parse: the calling thread
 * only receives the result, in slices of lanes, each a short turn of its event loop. Same result,
 * same errors as `parseRules` (a `GraylaneError` with `GRAYLANE_ERR_RULE_INVALID` and every issue).
 * Parses run one at a time in one worker, a Node.js child process of the same executable (its
 * environment without `NODE_OPTIONS`), which stays (idle, unreferenced) for the next and exits
 * with its parent.
 * With `previous`, lanes equal to one of the earlier result are that result's objects (see
 * {@link ParseInWorkerOptions.previous}).
 *
 * @throws GraylaneError `GRAYLANE_ERR_RULE_INVALID` listing every problem in `details.issues` (the promise rejects).
 */
export function parseRulesInWorker(text: string, options: ParseInWorkerOptions = {}): Promise<ParsedRulesWithPolicy> {
  const { signal, previous, ...parseOptions } = options;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const fresh: Lane[] = [];
    const onAbort = () => {
      cancel();
      reject(signal!.reason);
    };
    const done = () => signal?.removeEventListener('abort', onAbort);
    const cancel = rulesWorker.run({
      text,
      options: parseOptions,
      base: previous && madeBy.get(previous),
      onMessage(message, worker) {
        if (message.type === 'lanes') {
          for (const lane of message.lanes) fresh.push(lane);
          return false;
        }
        if (message.type !== 'done') {
          done();
          reject(workerError(message));
          return true;
        }
        const { reuse, groups, workloads, warnings, md5 } = message;
        const earlier = previous?.rules.lanes ?? [];
        let next = 0;
        const lanes = Array.from(reuse, (at) => (at < 0 ? fresh[next++]! : earlier[at]!));
        const rules = { lanes, groups, workloads };
        const settle = (policy: FallbackPolicy) => {
          done();
          const result: ParsedRulesWithPolicy = { rules, warnings, policy, md5 };
          madeBy.set(result, { worker, id: message.id });
          resolve(result);
        };
        // The earlier policy, when no lane's place, tag, chain or strictness changed. Else one made
        // here, in slices (see fallbackPolicySteps), that shares the earlier one's arrays where it
        // can: through a port it took about 7 ms (serialised, then received).
        if (previous && samePolicy(lanes, earlier, reuse)) settle(previous.policy);
        else runInSlices(fallbackPolicySteps(rules, previous?.policy), { signal }).then(settle, reject);
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

/** Whether `lanes` (made with `reuse` from `earlier`) have the fallback policy of `earlier`. */
function samePolicy(lanes: readonly Lane[], earlier: readonly Lane[], reuse: Int32Array): boolean {
  if (lanes.length !== earlier.length) return false;
  for (let i = 0; i < lanes.length; i++) {
    if (reuse[i] === i) continue;
    const now = lanes[i]!;
    const before = earlier[i]!;
    if (now.tag !== before.tag || now.strict !== before.strict || now.fallback.length !== before.fallback.length) return false;
    if (now.fallback.some((step, j) => step !== before.fallback[j])) return false;
  }
  return true;
}

function workerError(message: Extract<WorkerMessage, { type: 'error' }>): Error {
  if (message.graylane) return new GraylaneError(message.code as ErrorCode, message.message, { details: message.details ?? {} });
  return Object.assign(new Error(message.message), typeof message.code === 'string' ? { code: message.code } : {});
}
