import type { AggregatorErrorCode } from './aggregator-error.js'
import { isAggregatorError } from './aggregator-error.js'
import type { EventNotFoundError } from './event-not-found-error.js'
import type { InvalidUpstreamDataError } from './invalid-upstream-data-error.js'
import type { UpstreamUnavailableError } from './upstream-unavailable-error.js'
import type { UserNotFoundError } from './user-not-found-error.js'
import type { AggregatorValidationError } from './validation-error.js'

// The code-to-class map lives apart from the base class: it names every subclass, and the
// subclasses extend the base, so in the base class file it would close an import cycle.

/**
 * Maps each {@link AggregatorErrorCode} to its error class; used by {@link isAggregatorErrorCode}
 * to narrow, so `retryAfterMs` is typed after a check for `UPSTREAM_UNAVAILABLE`.
 */
export interface AggregatorErrorByCode {
  USER_NOT_FOUND: UserNotFoundError
  EVENT_NOT_FOUND: EventNotFoundError
  INVALID_ARGUMENT: AggregatorValidationError
  UPSTREAM_UNAVAILABLE: UpstreamUnavailableError
  UPSTREAM_INVALID_DATA: InvalidUpstreamDataError
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
