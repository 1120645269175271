/** Options of {@link installGracefulShutdown}. */
export interface GracefulShutdownOptions {
  /** Stops the service: stop accepting, drain in-flight requests, close pools. */
  close: () => Promise<void>
  logger: { info(obj: object, msg: string): void; error(obj: object, msg: string): void }
  /** Longest drain before giving up and exiting 1. */
  timeoutMs: number
  /** Default `['SIGTERM', 'SIGINT']`. */
  signals?: readonly NodeJS.Signals[]
  /** Default `process.exit`; tests inject a spy so the test runner survives. */
  exit?: (code: number) => void
  /** Default `process`; where the signal listeners are installed. */
  target?: Pick<NodeJS.Process, 'once' | 'off'>
}

/**
 * On the first SIGTERM or SIGINT: runs `close()` and exits 0 once it resolves, or 1 if it throws
 * or exceeds `timeoutMs`. A second signal during the drain exits 1 at once, so an operator
 * pressing Ctrl-C twice is never stuck behind a slow request.
 *
 * Returns a function that removes the listeners (for tests and embedding).
 *
 * @example
 * ```ts
 * installGracefulShutdown({ close: () => service.close(), logger, timeoutMs: 10_000 })
 * ```
 */
export function installGracefulShutdown(options: GracefulShutdownOptions): () => void {
  const { close, logger, timeoutMs } = options
  const signals = options.signals ?? ['SIGTERM', 'SIGINT']
  const exit = options.exit ?? ((code: number) => process.exit(code))
  const target = options.target ?? process
  let shuttingDown = false

  const onSignal = (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      logger.error({ signal }, 'second signal during shutdown: exiting now')
      exit(1)
      return
    }
    shuttingDown = true
    // Listen for the second signal; the first listener was a `once`.
    for (const s of signals) target.once(s, onSignal)
    logger.info({ signal, timeoutMs }, 'shutting down: draining in-flight requests')
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`drain exceeded ${timeoutMs} ms`)), timeoutMs)
      // The timer must not by itself keep a drained process alive.
      timer.unref()
    })
    Promise.race([close(), timeout])
      .then(
        () => {
          logger.info({ signal }, 'shutdown complete')
          exit(0)
        },
        (err: unknown) => {
          logger.error({ err, signal }, 'shutdown failed')
          exit(1)
        },
      )
      .finally(() => clearTimeout(timer))
  }

  for (const s of signals) target.once(s, onSignal)
  return () => {
    for (const s of signals) target.off(s, onSignal)
  }
}
