import type { Call } from '../call.js'
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
