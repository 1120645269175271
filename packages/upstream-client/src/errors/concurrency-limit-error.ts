import { UpstreamError, UpstreamErrorCode } from './upstream-error.js'

/**
 * The adaptive concurrency limit refused the call without touching the network: the operation
 * already had as many attempts in flight as its learned limit allows and its wait queue was full,
 * or the call could not get a slot in time for its deadline. Like an open circuit, it is not an
 * upstream failure: the breaker does not count it, it is never retried, and a service answers it
 * with `503` and `Retry-After` (`retryAfterMs`).
 */
export class ConcurrencyLimitError extends UpstreamError {
  /** Always `UPSTREAM_CONCURRENCY_LIMITED`. */
  readonly code = UpstreamErrorCode.ConcurrencyLimited
  /** A hint of when a slot frees up: the operation's recent round-trip time, in ms. */
  declare readonly retryAfterMs: number
  /** The operation whose limit was reached, e.g. `GET /getEventById`. */
  readonly operation: string
  /** The learned limit at the time of the refusal. */
  readonly limit: number

  constructor(init: {
    method: string
    url: string
    attempts: number
    operation: string
    limit: number
    retryAfterMs: number
    reason: string
  }) {
    super(
      `${init.method} ${init.url}: concurrency limit of '${init.operation}' reached (${init.limit} in flight), ${init.reason}, retry in ${init.retryAfterMs}ms`,
      init,
    )
    this.name = 'ConcurrencyLimitError'
    this.operation = init.operation
    this.limit = init.limit
  }
}
