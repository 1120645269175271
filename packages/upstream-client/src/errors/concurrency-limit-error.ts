import { CircuitOpenError } from './circuit-open-error.js'

/**
 * The call was refused before any attempt because its operation already had `maxInFlight` calls
 * in flight (and no room to wait, or its deadline passed while waiting). It is a bulkhead
 * rejection, not an upstream failure: it is never retried and no breaker counts it.
 *
 * It shares the code `UPSTREAM_CIRCUIT_OPEN` (and extends {@link CircuitOpenError}) on purpose:
 * every consumer that already handles a fail-fast rejection (a 503 with `Retry-After`,
 * stale-if-error, "do not retry now") handles this one the same way, including an older installed
 * copy of this package, whose `isUpstreamError` would not recognise a new code. Tell the two
 * apart by `name` or `instanceof`, and read `limit`.
 *
 * @example
 * if (isUpstreamErrorCode(e, 'UPSTREAM_CIRCUIT_OPEN')) reply.header('retry-after', Math.ceil(e.retryAfterMs / 1000))
 */
export class ConcurrencyLimitError extends CircuitOpenError {
  /** The `maxInFlight` that was reached. */
  readonly limit: number

  constructor(init: {
    method: string
    url: string
    breaker: string
    operation: string
    limit: number
    retryAfterMs: number
    reason?: string
  }) {
    super({
      ...init,
      attempts: 0,
      message: `${init.method} ${init.url}: ${init.operation} ${init.reason ?? `already has ${init.limit} calls in flight`} (maxInFlight ${init.limit}), retry in ${init.retryAfterMs}ms`,
    })
    this.name = 'ConcurrencyLimitError'
    this.limit = init.limit
  }
}
