import { attemptsSuffix, UpstreamError, UpstreamErrorCode } from './upstream-error.js'

/** The caller's `AbortSignal` fired. `cause` is the signal's reason. Never retried. */
export class UpstreamAbortError extends UpstreamError {
  /** Always `UPSTREAM_ABORTED`. */
  readonly code = UpstreamErrorCode.Aborted

  constructor(init: { method: string; url: string; attempts: number; cause: unknown }) {
    super(
      `${init.method} ${init.url}: aborted by the caller ${attemptsSuffix(init.attempts)}`,
      init,
    )
    this.name = 'UpstreamAbortError'
  }
}
