import { CircuitOpenError } from './circuit-open-error.js'

/**
 * The call was refused without touching the network because its operation already had
 * `maxInFlight` calls in flight (the bulkhead), or as many attempts as its learned adaptive
 * limit allows (`adaptiveLimit`), and there was no room to wait, or no time: the queue was full,
 * the wait would outlast the deadline, or the deadline passed while waiting. It is not an upstream
 * failure: it is never retried and no breaker counts it.
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
  /** The limit that was reached: `maxInFlight`, or the operation's learned adaptive limit. */
  readonly limit: number

  constructor(init: {
    method: string
    url: string
    breaker: string
    operation: string
    limit: number
    retryAfterMs: number
    reason?: string
    /** Attempts made before the refusal (a retry refused by the adaptive limit). Default 0. */
    attempts?: number
    /** How the message names the limit. Default `maxInFlight`. */
    limitName?: string
  }) {
    super({
      ...init,
      attempts: init.attempts ?? 0,
      message: `${init.method} ${init.url}: ${init.operation} ${init.reason ?? `already has ${init.limit} calls in flight`} (${init.limitName ?? 'maxInFlight'} ${init.limit}), retry in ${init.retryAfterMs}ms`,
    })
    this.name = 'ConcurrencyLimitError'
    this.limit = init.limit
  }
}
