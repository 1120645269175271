import { attemptsSuffix, UpstreamError, UpstreamErrorCode } from './upstream-error.js'

/** A successful response whose body is not valid JSON. `cause` is the parser's error. */
export class InvalidBodyError extends UpstreamError {
  /** Always `UPSTREAM_INVALID_BODY`. */
  readonly code = UpstreamErrorCode.InvalidBody

  constructor(init: {
    method: string
    url: string
    attempts: number
    status: number
    cause: unknown
  }) {
    super(
      `${init.method} ${init.url}: response body is not valid JSON ${attemptsSuffix(init.attempts)}`,
      init,
    )
    this.name = 'InvalidBodyError'
  }
}
