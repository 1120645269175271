import type { Call } from '../call.js'
import { InvalidOptionError } from '../errors/invalid-option-error.js'
import { UpstreamNetworkError } from '../errors/network-error.js'
import { UpstreamTimeoutError } from '../errors/timeout-error.js'
import { isUpstreamError, type UpstreamError } from '../errors/upstream-error.js'

/** undici's own idle timeouts (headers, body); reported as timeouts, not network errors. */
const UNDICI_TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])

/**
 * @internal Error classification: turns whatever undici reported for an attempt into the
 * package's typed errors. Errors that are already ours (timeouts and aborts raised by the
 * attempt itself, body limits) pass through.
 */
export function classifyTransportError(
  error: unknown,
  call: Call,
  attempt: number,
  budgetMs: number,
): UpstreamError {
  if (isUpstreamError(error)) return error
  const code = (error as { code?: unknown } | null)?.code
  // undici refusing the request's own arguments is a caller error that slipped past the checks
  // in `createCall`, not an upstream failure: it must not be retried or counted by a breaker.
  if (code === 'UND_ERR_INVALID_ARG') {
    return Object.assign(
      new InvalidOptionError(
        'request',
        `${call.method} ${call.url}: undici rejected the request: ${(error as Error).message}`,
        call.path,
      ),
      { cause: error },
    )
  }
  if (typeof code === 'string' && UNDICI_TIMEOUTS.has(code)) {
    return new UpstreamTimeoutError({
      method: call.method,
      url: call.url,
      attempts: attempt,
      timeoutMs: budgetMs,
      phase: 'attempt',
    })
  }
  return new UpstreamNetworkError({
    method: call.method,
    url: call.url,
    attempts: attempt,
    cause: error,
  })
}

/**
 * @internal Parses a `Retry-After` header: delay-seconds or an HTTP date. Returns undefined for
 * a missing or unparsable value; never negative.
 */
export function parseRetryAfter(value: unknown, now: number): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined
  if (/^\s*\d+\s*$/.test(value)) return Number.parseInt(value, 10) * 1000
  const at = Date.parse(value)
  if (Number.isNaN(at)) return undefined
  return Math.max(0, at - now)
}
