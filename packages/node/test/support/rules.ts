// Test doubles for the rules suites: a rule source driven by the test, and recorders for what the
// rules manager reports through @opentelemetry/api (diag logs, metrics).
import { DiagLogLevel, createNoopMeter, diag, metrics } from '@opentelemetry/api';
import type { Attributes, MeterProvider, ObservableCallback } from '@opentelemetry/api';
import type { RuleSource, RuleSourceListener, RulesManager, AppliedRules } from '../../src/index.js';

/** A rule source whose content the test sets; `failLoads` makes the next loads reject. */
export interface TestSource extends RuleSource {
  text: string | undefined;
  failLoads: number;
  /** Sets the content and tells the watchers. */
  publish(text: string | undefined): void;
  readonly closed: boolean;
}

export function testSource(text?: string): TestSource {
  const listeners = new Set<RuleSourceListener>();
  let closed = false;
  return {
    kind: 'memory',
    location: 'test',
    text,
    failLoads: 0,
    get closed() {
      return closed;
    },
    async load() {
      if (this.failLoads > 0) {
        this.failLoads--;
        throw Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' });
      }
      return this.text;
    },
    watch(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    publish(next) {
      this.text = next;
      for (const listener of listeners) listener(next);
    },
    close() {
      closed = true;
    },
  };
}

/** Lines logged through `diag`, by level, until `stop()`. */
export function captureDiag(): { readonly lines: { level: string; message: string }[]; stop(): void } {
  const lines: { level: string; message: string }[] = [];
  const at = (level: string) => (message: string) => lines.push({ level, message });
  diag.setLogger(
    { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), verbose: at('verbose') },
    { logLevel: DiagLogLevel.INFO, suppressOverrideMessage: true },
  );
  return { lines, stop: () => diag.disable() };
}

/** A global MeterProvider that records counter additions and reads observable gauges on demand. */
export function recordMetrics(): {
  readonly added: { name: string; value: number; attributes: Attributes }[];
  observe(name: string): { value: number; attributes: Attributes }[];
  stop(): void;
} {
  const added: { name: string; value: number; attributes: Attributes }[] = [];
  const gauges = new Map<string, Set<ObservableCallback>>();
  const callbacks = (name: string) => gauges.get(name) ?? gauges.set(name, new Set()).get(name)!;
  const meter = Object.assign(createNoopMeter(), {
    createCounter: (name: string) => ({ add: (value: number, attributes: Attributes = {}) => void added.push({ name, value, attributes }) }),
    createObservableGauge: (name: string) => ({
      addCallback: (callback: ObservableCallback) => void callbacks(name).add(callback),
      removeCallback: (callback: ObservableCallback) => void callbacks(name).delete(callback),
    }),
  });
  const provider: MeterProvider = { getMeter: () => meter };
  metrics.setGlobalMeterProvider(provider);
  return {
    added,
    observe(name) {
      const observed: { value: number; attributes: Attributes }[] = [];
      for (const callback of callbacks(name)) void callback({ observe: (value, attributes = {}) => void observed.push({ value, attributes }) });
      return observed;
    },
    stop: () => metrics.disable(),
  };
}

/** The next rules the manager applies. */
export function nextApplied(manager: RulesManager, timeoutMs = 3000): Promise<AppliedRules> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no rules applied within ${timeoutMs} ms; status ${JSON.stringify(manager.status())}`));
    }, timeoutMs);
    const stop = manager.onChange((applied) => {
      clearTimeout(timer);
      stop();
      resolve(applied);
    });
  });
}

/** Polls `predicate` every 10 ms until it holds (or fails after `timeoutMs`, naming `what`). */
export async function eventually(predicate: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Rules that route `x-user: <user>` to `lane`, with a fallback chain `lane → rc → base`. */
export function laneRules(lane: string, user: string): string {
  return `lanes:
  - tag: ${lane}
    fallback: [rc]
    match:
      - { type: header, name: x-user, operator: "==", value: ${user} }
`;
}
