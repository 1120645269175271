import { attemptsSuffix, UpstreamError, UpstreamErrorCode } from './upstream-error.js'

/**
 * The response body exceeded `maxBodyBytes`. Reading stopped at the limit and the connection was
 * aborted, so an endless body never fills memory.
 */
export class BodyTooLargeError extends UpstreamError {
  /** Always `UPSTREAM_BODY_TOO_LARGE`. */
  readonly code = UpstreamErrorCode.BodyTooLarge
  /** The configured limit in bytes. */
  readonly limitBytes: number

  constructor(init: {
    method: string
    url: string
    attempts: number
    status: number
    limitBytes: number
  }) {
    super(
      `${init.method} ${init.url}: response body exceeds ${init.limitBytes} bytes ${attemptsSuffix(init.attempts)}`,
      init,
    )
    this.name = 'BodyTooLargeError'
    this.limitBytes = init.limitBytes
  }
}
