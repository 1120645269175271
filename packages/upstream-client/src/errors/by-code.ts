import type { UpstreamAbortError } from './abort-error.js'
import type { BodyTooLargeError } from './body-too-large-error.js'
import type { CircuitOpenError } from './circuit-open-error.js'
import type { UpstreamClientClosedError } from './client-closed-error.js'
import type { UpstreamHttpError } from './http-error.js'
import type { InvalidBodyError } from './invalid-body-error.js'
import type { InvalidOptionError } from './invalid-option-error.js'
import type { UpstreamNetworkError } from './network-error.js'
import type { UpstreamRateLimitedError } from './rate-limited-error.js'
import type { UpstreamTimeoutError } from './timeout-error.js'
import { isUpstreamError, type UpstreamErrorCode } from './upstream-error.js'

// The code-to-class map lives here, not in the base class's file: the base class must not import
// its own subclasses (even as types), or every error module would sit in one import cycle.

/**
 * True when `error` is an {@link UpstreamError} with the given `code`; narrows to that subclass.
 *
 * @example
 * if (isUpstreamErrorCode(e, 'UPSTREAM_CIRCUIT_OPEN')) retryLater(e.retryAfterMs)
 */
export function isUpstreamErrorCode<C extends UpstreamErrorCode>(
  error: unknown,
  code: C,
): error is UpstreamErrorByCode[C] {
  return isUpstreamError(error) && error.code === code
}

/** Maps each code to its error class; used by {@link isUpstreamErrorCode} for narrowing. */
export interface UpstreamErrorByCode {
  UPSTREAM_TIMEOUT: UpstreamTimeoutError
  UPSTREAM_NETWORK: UpstreamNetworkError
  UPSTREAM_HTTP_STATUS: UpstreamHttpError
  UPSTREAM_CIRCUIT_OPEN: CircuitOpenError
  UPSTREAM_INVALID_BODY: InvalidBodyError
  UPSTREAM_BODY_TOO_LARGE: BodyTooLargeError
  UPSTREAM_ABORTED: UpstreamAbortError
  UPSTREAM_INVALID_OPTION: InvalidOptionError
  UPSTREAM_CLIENT_CLOSED: UpstreamClientClosedError
  UPSTREAM_RATE_LIMITED: UpstreamRateLimitedError
}
