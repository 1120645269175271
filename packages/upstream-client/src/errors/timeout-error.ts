import { attemptsSuffix, UpstreamError, UpstreamErrorCode } from './upstream-error.js'

/**
 * An attempt ran out of time: either its own `timeoutMs`, or the call's overall deadline
 * (`phase: 'deadline'`), whichever came first.
 */
export class UpstreamTimeoutError extends UpstreamError {
  /** Always `UPSTREAM_TIMEOUT`. */
  readonly code = UpstreamErrorCode.Timeout
  /** The budget that elapsed, in milliseconds. */
  readonly timeoutMs: number
  /** `attempt` when the per-attempt timeout fired, `deadline` when the whole call ran out of time. */
  readonly phase: 'attempt' | 'deadline'

  constructor(init: {
    method: string
    url: string
    attempts: number
    timeoutMs: number
    phase: 'attempt' | 'deadline'
  }) {
    const what = init.phase === 'deadline' ? 'deadline exceeded' : 'timed out'
    super(
      `${init.method} ${init.url}: ${what} after ${init.timeoutMs}ms ${attemptsSuffix(init.attempts)}`,
      init,
    )
    this.name = 'UpstreamTimeoutError'
    this.timeoutMs = init.timeoutMs
    this.phase = init.phase
  }
}
