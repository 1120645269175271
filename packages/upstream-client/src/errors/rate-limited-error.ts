import { UpstreamError, UpstreamErrorCode } from './upstream-error.js'

/**
 * The upstream's quota is spent (the `rateLimit` option): either the call was refused before
 * touching the network because the rate-limit bucket had no token left within the call's
 * deadline, or the upstream answered `429 Too Many Requests` (then `status` is 429 and `cause` is
 * the {@link UpstreamHttpError}). `retryAfterMs` is when a token (or the upstream's quota) is
 * expected back. It is not an upstream failure: no breaker counts it, and it is never retried
 * (a retry would spend the quota that is already spent); answer it like an open circuit, with a
 * 503 and `Retry-After`.
 *
 * @example
 * if (isUpstreamErrorCode(e, 'UPSTREAM_RATE_LIMITED')) reply.code(503).header('retry-after', Math.ceil(e.retryAfterMs / 1000))
 */
export class UpstreamRateLimitedError extends UpstreamError {
  /** Always `UPSTREAM_RATE_LIMITED`. */
  readonly code = UpstreamErrorCode.RateLimited
  /** Milliseconds until the quota is expected to allow a call again; never undefined here. */
  declare readonly retryAfterMs: number
  /** The rate-limit bucket: the upstream name, or `name:operation` with `scope: 'operation'`. */
  readonly bucket: string

  constructor(init: {
    method: string
    url: string
    attempts: number
    bucket: string
    retryAfterMs: number
    /** 429 when the upstream refused the call; undefined when the client refused it. */
    status?: number
    cause?: unknown
  }) {
    const why =
      init.status === 429
        ? 'upstream answered 429 Too Many Requests'
        : `rate limit '${init.bucket}' has no token within the deadline`
    super(`${init.method} ${init.url}: ${why}, retry in ${init.retryAfterMs}ms`, init)
    this.name = 'UpstreamRateLimitedError'
    this.bucket = init.bucket
  }
}
