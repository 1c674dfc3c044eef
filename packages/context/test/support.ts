import { DiagLogLevel, diag } from '@opentelemetry/api';

/** Collects graylane's `diag` messages (debug and above) for the duration of a test file. */
export function captureDiag(): { readonly messages: string[]; clear(): void } {
  const messages: string[] = [];
  const log = (message: string) => void messages.push(message);
  beforeAll(() => {
    diag.setLogger({ error: log, warn: log, info: log, debug: log, verbose: log }, { logLevel: DiagLogLevel.DEBUG, suppressOverrideMessage: true });
  });
  afterAll(() => diag.disable());
  beforeEach(() => (messages.length = 0));
  return { messages, clear: () => (messages.length = 0) };
}
