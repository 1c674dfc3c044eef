/**
 * The shape of an outbound adapter's `retry` option.
 *
 * @deprecated Retries moved to `@graylane/outbound` with the loop they configure, and the router is
 * back to selection; import `RetryOptions` from `@graylane/outbound`. The shape stays here, typed
 * alike, until the last type import of it from the router is gone (0.2).
 */
export interface RetryOptions {
  readonly attempts?: number;
  readonly methods?: readonly string[];
  readonly budgetMs?: number;
}
