import { UpstreamError, UpstreamErrorCode } from './upstream-error.js'

/**
 * The circuit breaker rejected the call without touching the network: it is open, a half-open
 * probe is already in flight, or the recovery queue is full. `retryAfterMs` is the time until the
 * next probe (or a short hint while recovering).
 */
export class CircuitOpenError extends UpstreamError {
  /** Always `UPSTREAM_CIRCUIT_OPEN`. */
  readonly code = UpstreamErrorCode.CircuitOpen
  /** Milliseconds until the breaker lets a probe through; never undefined on this class. */
  declare readonly retryAfterMs: number
  /** The breaker (upstream) name. */
  readonly breaker: string
  /** The operation of the rejected call (its breaker key, e.g. `POST /addEvent`). */
  readonly operation: string

  constructor(init: {
    method: string
    url: string
    attempts: number
    breaker: string
    /** Default `*` (every operation). */
    operation?: string
    retryAfterMs: number
    reason?: string
    cause?: unknown
    /** @internal Replaces the message; for subclasses that reject for another reason. */
    message?: string
  }) {
    super(
      init.message ??
        `${init.method} ${init.url}: circuit '${init.breaker}'${init.operation === undefined || init.operation === '*' ? '' : ` (${init.operation})`} ${init.reason ?? 'is open'}, retry in ${init.retryAfterMs}ms`,
      init,
    )
    this.name = 'CircuitOpenError'
    this.breaker = init.breaker
    this.operation = init.operation ?? '*'
  }
}
