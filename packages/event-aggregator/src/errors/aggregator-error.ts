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
