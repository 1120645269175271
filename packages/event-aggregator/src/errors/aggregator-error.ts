/**
 * Stable error codes raised by this package. Codes never change between versions, so callers may
 * branch on them (and map them to HTTP statuses) safely.
 */
export type AggregatorErrorCode =
  | 'USER_NOT_FOUND'
  | 'EVENT_NOT_FOUND'
  | 'INVALID_ARGUMENT'
  | 'UPSTREAM_UNAVAILABLE'
  | 'UPSTREAM_INVALID_DATA'

/**
 * A symbol registered globally (`Symbol.for`) so that {@link isAggregatorError} recognises errors
 * created by another installed copy of this package, where `instanceof` would fail.
 */
const BRAND = Symbol.for('@userevents/event-aggregator/error')

/**
 * Base class of every error this package throws. Each subclass sets a stable `code` and keeps
 * the underlying failure, if any, in `cause`.
 */
export class AggregatorError extends Error {
  /** A stable, machine-readable code; see {@link AggregatorErrorCode}. */
  readonly code: AggregatorErrorCode

  /** @internal Brand checked by {@link isAggregatorError}. */
  readonly [BRAND] = true

  /**
   * @param code - the stable code of the failure
   * @param message - a human-readable message naming the bad value or resource
   * @param options - the underlying `cause`, when there is one
   */
  constructor(code: AggregatorErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'AggregatorError'
    this.code = code
  }
}

/**
 * True for any error thrown by this package, including errors from another installed copy of it
 * (checks a global brand, not only `instanceof`).
 */
export function isAggregatorError(error: unknown): error is AggregatorError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error instanceof AggregatorError || (error as { [BRAND]?: unknown })[BRAND] === true)
  )
}

/**
 * Maps each {@link AggregatorErrorCode} to its error class; used by {@link isAggregatorErrorCode}
 * to narrow, so `retryAfterMs` is typed after a check for `UPSTREAM_UNAVAILABLE`.
 */
export interface AggregatorErrorByCode {
  USER_NOT_FOUND: import('./user-not-found-error.js').UserNotFoundError
  EVENT_NOT_FOUND: import('./event-not-found-error.js').EventNotFoundError
  INVALID_ARGUMENT: import('./validation-error.js').AggregatorValidationError
  UPSTREAM_UNAVAILABLE: import('./upstream-unavailable-error.js').UpstreamUnavailableError
  UPSTREAM_INVALID_DATA: import('./invalid-upstream-data-error.js').InvalidUpstreamDataError
}

/**
 * True when `error` is an {@link AggregatorError} with the given code; narrows to that code's
 * class (see {@link AggregatorErrorByCode}).
 *
 * @example
 * if (isAggregatorErrorCode(err, 'USER_NOT_FOUND')) reply.code(404)
 * if (isAggregatorErrorCode(err, 'UPSTREAM_UNAVAILABLE')) reply.header('retry-after', err.retryAfterMs)
 */
export function isAggregatorErrorCode<C extends AggregatorErrorCode>(
  error: unknown,
  code: C,
): error is AggregatorErrorByCode[C] & { code: C } {
  return isAggregatorError(error) && error.code === code
}
