/**
 * graylane's one error class. Every error graylane raises on purpose is a {@link GraylaneError}
 * with a stable string `code` (documented in docs/reference/errors.md), a message a person can act
 * on, optional structured `details`, and the underlying `cause` when there is one.
 */

const BRAND = Symbol.for('graylane.error');

/** Stable error codes. Adding one requires an entry in docs/reference/errors.md (a test checks). */
export const ErrorCode = {
  /** A rule document failed validation; `details.issues` lists every problem with its path. */
  RULE_INVALID: 'GRAYLANE_ERR_RULE_INVALID',
  /** Configuration passed to a graylane factory is invalid; raised at start-up. */
  CONFIG_INVALID: 'GRAYLANE_ERR_CONFIG_INVALID',
  /** A lane name does not satisfy the lane grammar. */
  LANE_INVALID: 'GRAYLANE_ERR_LANE_INVALID',
  /** No instance of the callee qualifies for the request's lane (nor its fallbacks). */
  NO_INSTANCE: 'GRAYLANE_ERR_NO_INSTANCE',
  /** The lane is strict and has no instance of the callee; fallback is forbidden. */
  STRICT_LANE: 'GRAYLANE_ERR_STRICT_LANE',
  /** A registry operation (register, deregister, subscribe) failed. */
  REGISTRY: 'GRAYLANE_ERR_REGISTRY',
  /** Waiting for a service's first instance list timed out. */
  NOT_READY: 'GRAYLANE_ERR_NOT_READY',
  /** A Nacos server answered with an error, or could not be reached. */
  NACOS: 'GRAYLANE_ERR_NACOS',
  /** A Nacos request did not complete within its timeout. */
  NACOS_TIMEOUT: 'GRAYLANE_ERR_NACOS_TIMEOUT',
  /** Nacos rejected the credentials, or requires credentials that were not given. */
  NACOS_AUTH: 'GRAYLANE_ERR_NACOS_AUTH',
  /** The client was closed; the operation cannot run. */
  CLOSED: 'GRAYLANE_ERR_CLOSED',
  /** The entry gateway could not reach the selected upstream instance. */
  UPSTREAM: 'GRAYLANE_ERR_UPSTREAM',
} as const;

/** One of the {@link ErrorCode} values. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Options of {@link GraylaneError}. */
export interface GraylaneErrorOptions {
  /** Structured, serialisable facts about the failure (service, lane, path, issues, ...). */
  readonly details?: Readonly<Record<string, unknown>>;
  /** The error that caused this one. */
  readonly cause?: unknown;
}

/** The error graylane raises. Use {@link isGraylaneError} rather than `instanceof` across copies. */
export class GraylaneError extends Error {
  /** A stable code from {@link ErrorCode}. */
  readonly code: ErrorCode;
  /** Structured facts about the failure. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: GraylaneErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GraylaneError';
    this.code = code;
    this.details = options.details ?? {};
  }

  /** True for any GraylaneError, including one made by another installed copy of this package. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return isGraylaneError(value);
  }

  get [BRAND](): true {
    return true;
  }

  override toString(): string {
    return `${this.name} [${this.code}]: ${this.message}`;
  }
}

/** True when `value` is a {@link GraylaneError}, from this or any other copy of @graylane/core. */
export function isGraylaneError(value: unknown): value is GraylaneError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}
