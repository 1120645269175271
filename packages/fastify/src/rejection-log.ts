import type { FastifyBaseLogger } from 'fastify'
import type { HttpProblem } from './problem.js'

/** Private: one code's current interval. */
interface Window {
  count: number
  level: HttpProblem['logLevel']
  timer: ReturnType<typeof setTimeout>
}

/**
 * @internal Logs expected, fast rejections (a 503 without a stack: an open circuit, an upstream
 * still failing after its retries) at most once per interval and code: the first one at once,
 * with its request id, then one line per interval with the count, while they keep coming. In an
 * outage a service answers thousands of these in seconds; one line each would flood the logs and
 * slow the very answers that should be fast, while the circuit's state changes (logged by the
 * client) and these counts already tell the story.
 */
export class RejectionLog {
  readonly #logger: FastifyBaseLogger
  readonly #intervalMs: number
  readonly #windows = new Map<string, Window>()

  constructor(logger: FastifyBaseLogger, intervalMs: number) {
    this.#logger = logger
    this.#intervalMs = intervalMs
  }

  /** Whether `problem` is one of the rejections this log rate-limits. */
  static applies(problem: HttpProblem): boolean {
    return problem.statusCode === 503 && !problem.logStack
  }

  /** Logs (or counts) one rejection; `requestLog` is the request's child logger. */
  record(requestLog: FastifyBaseLogger, problem: HttpProblem, reason: string): void {
    const code = problem.body.code ?? 'UNKNOWN'
    const level = problem.logLevel
    if (this.#intervalMs === 0) {
      requestLog[level]({ code, statusCode: problem.statusCode, reason }, 'request failed')
      return
    }
    const window = this.#windows.get(code)
    if (window !== undefined) {
      window.count++
      return
    }
    requestLog[level](
      { code, statusCode: problem.statusCode, reason, countedForMs: this.#intervalMs },
      'request failed; further ones with this code are counted, not logged one by one',
    )
    this.#open(code, level)
  }

  /** Logs the counts still pending and stops the timers (the app is closing). */
  close(): void {
    for (const [code, window] of this.#windows) {
      clearTimeout(window.timer)
      this.#flush(code, window)
    }
    this.#windows.clear()
  }

  #open(code: string, level: Window['level']): void {
    const window: Window = {
      count: 0,
      level,
      timer: setTimeout(() => {
        this.#windows.delete(code)
        // Still coming: report the count and keep counting; quiet: the next one logs at once.
        if (this.#flush(code, window)) this.#open(code, level)
      }, this.#intervalMs),
    }
    // A pending count must not keep a finished process alive.
    window.timer.unref?.()
    this.#windows.set(code, window)
  }

  #flush(code: string, window: Window): boolean {
    if (window.count === 0) return false
    this.#logger[window.level](
      { code, count: window.count, intervalMs: this.#intervalMs },
      'requests failed with this code in the last interval',
    )
    return true
  }
}
