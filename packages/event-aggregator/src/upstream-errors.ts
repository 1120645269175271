// How the aggregator reads the client's errors: by their `code` and fields, never `instanceof`,
// so any client with compatible errors (or another installed copy of ours) works.

/** @internal The `code` of an error, if it has a string one (client and aggregator errors do). */
export function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

/**
 * @internal Whether the client refused the call without asking the upstream: an open circuit, or
 * a concurrency limit (`maxInFlight` or the adaptive limit), whose `ConcurrencyLimitError` shares
 * the open circuit's code, or a spent quota (`rateLimit`: `UPSTREAM_RATE_LIMITED`). All mean
 * "try again shortly" and all carry `retryAfterMs`.
 */
export function isUnavailable(error: unknown): boolean {
  const code = codeOf(error)
  return code === 'UPSTREAM_CIRCUIT_OPEN' || code === 'UPSTREAM_RATE_LIMITED'
}

/** @internal The reason of an {@link isUnavailable} error, for messages. */
export function unavailableReason(error: unknown): string {
  if (codeOf(error) === 'UPSTREAM_RATE_LIMITED') return 'quota is spent (rate limited)'
  return (error as { name?: unknown } | null)?.name === 'ConcurrencyLimitError'
    ? 'concurrency limit refused the call'
    : 'circuit is open'
}

/**
 * @internal The message of a `missing` entry, built from the error's code alone. A page is an
 * answer for the caller, and the client's own message names the upstream's address and the
 * breaker (`GET http://10.0.0.7:8080/getEventById/2: circuit 'events' is open, ...`): internals a
 * caller must not see. The full error is still what `loadMany` returns, and what the client logs.
 */
export function missingMessage(code: string, error: unknown): string {
  switch (code) {
    case 'EVENT_NOT_FOUND':
      return 'The event was not found upstream'
    case 'UPSTREAM_CIRCUIT_OPEN':
      return unavailableReason(error) === 'circuit is open'
        ? 'The upstream is unavailable (circuit open); retry later'
        : 'The upstream is busy (concurrency limit); retry later'
    case 'UPSTREAM_RATE_LIMITED':
      return "The upstream's quota is spent (rate limited); retry later"
    case 'UPSTREAM_TIMEOUT':
      return 'The upstream did not answer in time'
    case 'UPSTREAM_NETWORK':
      return 'The upstream could not be reached'
    case 'UPSTREAM_ABORTED':
      return 'The request was aborted'
    case 'UPSTREAM_HTTP_STATUS': {
      const status = statusOf(error)
      return status === undefined
        ? 'The upstream refused the request'
        : `The upstream answered ${status}`
    }
    case 'UPSTREAM_INVALID_DATA':
    case 'UPSTREAM_INVALID_BODY':
    case 'UPSTREAM_BODY_TOO_LARGE':
      return 'The upstream sent an answer that cannot be read'
    default:
      return 'The event could not be loaded'
  }
}

/** @internal The HTTP status of a client error (`UpstreamHttpError.status`). */
export function statusOf(error: unknown): number | undefined {
  if (codeOf(error) !== 'UPSTREAM_HTTP_STATUS') return undefined
  const status = (error as { status?: unknown }).status
  return typeof status === 'number' ? status : undefined
}

/** @internal `retryAfterMs` of a client error, if any. */
export function retryAfterOf(error: unknown): number | undefined {
  const ms = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs
  return typeof ms === 'number' ? ms : undefined
}
