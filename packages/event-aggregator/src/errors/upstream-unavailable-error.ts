import { AggregatorError } from './aggregator-error.js'

/**
 * The upstream cannot be called right now (its circuit breaker is open) and nothing usable was
 * cached. Code `UPSTREAM_UNAVAILABLE`; map it to 503 with a `Retry-After` of `retryAfterMs`.
 */
export class UpstreamUnavailableError extends AggregatorError {
  /** When the upstream may be tried again, if the client said so. */
  readonly retryAfterMs: number | undefined

  /**
   * @param message - what could not be loaded
   * @param options - the client's circuit-open error as `cause`, and its `retryAfterMs`
   */
  constructor(message: string, options: { cause?: unknown; retryAfterMs?: number | undefined }) {
    super('UPSTREAM_UNAVAILABLE', message, { cause: options.cause })
    this.name = 'UpstreamUnavailableError'
    this.retryAfterMs = options.retryAfterMs
  }
}
