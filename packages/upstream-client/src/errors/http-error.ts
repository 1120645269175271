import { attemptsSuffix, UpstreamError, UpstreamErrorCode } from './upstream-error.js'

/** The upstream answered with a status outside 2xx. `body` is the parsed JSON or text, if any. */
export class UpstreamHttpError extends UpstreamError {
  /** Always `UPSTREAM_HTTP_STATUS`. */
  readonly code = UpstreamErrorCode.HttpStatus
  /** The HTTP status (never undefined on this class). */
  declare readonly status: number
  /** The response body: parsed JSON when it parsed, otherwise the text; undefined when empty. */
  readonly body: unknown

  constructor(init: {
    method: string
    url: string
    attempts: number
    status: number
    statusText?: string
    body?: unknown
    retryAfterMs?: number
  }) {
    const text = init.statusText ? ` ${init.statusText}` : ''
    super(
      `${init.method} ${init.url}: ${init.status}${text} ${attemptsSuffix(init.attempts)}`,
      init,
    )
    this.name = 'UpstreamHttpError'
    this.body = init.body
  }
}
