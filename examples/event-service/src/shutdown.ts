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
  target?: Pick<NodeJS.Process, 'on' | 'off'>
  /**
   * A further signal forces the exit only when it comes at least this long after the first.
   * Default 1000 ms. Wrappers (`npx`, `pnpm`) forward the terminal's Ctrl-C or a process-group
   * SIGTERM to a child that has already received it from the group, so the same keypress arrives
   * twice within tens of milliseconds; only a person pressing again means "exit now".
   */
  forceAfterMs?: number
  /** Default `Date.now`; tests inject a clock to place the second signal in time. */
  now?: () => number
}

/**
 * On the first SIGTERM or SIGINT: runs `close()` and exits 0 once it resolves, or 1 if it throws
 * or exceeds `timeoutMs`. A signal that comes at least `forceAfterMs` (1 s) after the first exits
 * 1 at once, so an operator pressing Ctrl-C again is never stuck behind a slow request; an echo of
 * the first signal (a wrapper such as `npx` or `pnpm` forwarding what the process group already
 * delivered) arrives within milliseconds and is ignored, so it cannot drop requests in flight.
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
  const forceAfterMs = options.forceAfterMs ?? 1_000
  const now = options.now ?? Date.now
  let firstSignalAt: number | undefined

  const onSignal = (signal: NodeJS.Signals) => {
    if (firstSignalAt !== undefined) {
      const sinceFirstMs = now() - firstSignalAt
      if (sinceFirstMs < forceAfterMs) {
        logger.info({ signal, sinceFirstMs }, 'signal repeated during shutdown: still draining')
        return
      }
      logger.error({ signal, sinceFirstMs }, 'second signal during shutdown: exiting now')
      exit(1)
      return
    }
    firstSignalAt = now()
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

  // `on`, not `once`: the listener stays for the echoes and the deliberate second signal alike,
  // and Node never falls back to its default (kill at once) handler in between.
  for (const s of signals) target.on(s, onSignal)
  return () => {
    for (const s of signals) target.off(s, onSignal)
  }
}
