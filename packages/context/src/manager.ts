import { ROOT_CONTEXT, context, createContextKey } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';

const PROBE = createContextKey('graylane.context-manager-probe');

/**
 * Installs OpenTelemetry's `AsyncLocalStorageContextManager` as the global context manager unless a
 * working one is registered already (by `@opentelemetry/sdk-node`, another library, or an earlier
 * call). Returns true when it installed one. Idempotent and cheap; call it at start-up, after the
 * OpenTelemetry SDK has started if the application uses one.
 */
export function ensureContextManager(): boolean {
  if (hasContextManager()) return false;
  return context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

/** True when the global context manager propagates context (OpenTelemetry's default no-op one does not). */
export function hasContextManager(): boolean {
  const probe = ROOT_CONTEXT.setValue(PROBE, true);
  return context.with(probe, () => context.active().getValue(PROBE) === true);
}
