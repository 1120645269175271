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

  constructor(init: {
    method: string
    url: string
    attempts: number
    breaker: string
    retryAfterMs: number
    reason?: string
    cause?: unknown
  }) {
    super(
      `${init.method} ${init.url}: circuit '${init.breaker}' ${init.reason ?? 'is open'}, retry in ${init.retryAfterMs}ms`,
      init,
    )
    this.name = 'CircuitOpenError'
    this.breaker = init.breaker
  }
}
