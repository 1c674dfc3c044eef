/**
 * @graylane/outbound: the outbound core the client adapters share (`@graylane/axios`,
 * `@graylane/fetch`, `@graylane/http`). It owns the steps of a call to a service: is the host a
 * service, the caller's lane, span and trail, the selection, the lane carriers (through a small
 * {@link HeaderAccess} each adapter implements), reporting each selection, and the retries within
 * the lane, then along its fallback chain. An adapter keeps only the glue for its client. See
 * docs/architecture.md.
 *
 * @packageDocumentation
 */
export { createOutbound } from './outbound.js';
export type { Outbound, OutboundCall, OutboundClient } from './outbound.js';
export type { OutboundOptions } from './options.js';
export type { HeaderAccess } from './headers.js';
export { IDEMPOTENT_METHODS, NO_RETRIES, compileRetry, isConnectFailure, isConnectionReset, isReplayableBody } from './retry.js';
export type { RetryAttempts, RetryOptions, RetryPolicy } from './retry.js';
