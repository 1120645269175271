import type { CircuitState, ClientHooks } from './hooks.js'

/**
 * The subset of a pino logger the client uses. A pino `Logger` fits as is; so does any logger
 * with `child()` and level methods taking `(fields, message)`.
 */
export interface Logger {
  /** Returns a logger that adds `bindings` to every line. */
  child(bindings: Record<string, unknown>): Logger
  /** Logs at debug level. */
  debug(fields: object, message?: string): void
  /** Logs at info level. */
  info(fields: object, message?: string): void
  /** Logs at warn level. */
  warn(fields: object, message?: string): void
  /** Logs at error level. */
  error(fields: object, message?: string): void
  /** pino's level check; used to skip building fields for disabled levels. */
  isLevelEnabled?(level: string): boolean
}

/**
 * @internal Attaches a pino-compatible logger to the client's hooks. This is the only place the
 * client logs: one structured line per attempt (debug when it succeeded, info when it failed),
 * one per scheduled retry (info), one per retry refused by the budget (warn), one per change of
 * an adaptive limit (debug), one per circuit state change (warn) and one per step of the
 * post-recovery ramp (info).
 */
export function attachLogger(
  logger: Logger,
  hooks: ClientHooks,
  circuit: (operation: string) => CircuitState,
): () => void {
  const enabled = (level: string) => logger.isLevelEnabled?.(level) ?? true
  const unsubscribe = [
    hooks.response.subscribe((e) => {
      if (e.status < 400 && !enabled('debug')) return
      const fields = {
        method: e.method,
        path: e.path,
        status: e.status,
        attempt: e.attempt,
        durationMs: e.durationMs,
        circuit: circuit(e.operation),
        requestId: e.requestId,
      }
      if (e.status < 400) logger.debug(fields, 'upstream attempt')
      else logger.info(fields, 'upstream attempt failed')
    }),
    hooks.attemptError.subscribe((e) => {
      // HTTP status failures were already logged by the response listener above.
      if (e.error.code === 'UPSTREAM_HTTP_STATUS') return
      logger.info(
        {
          method: e.method,
          path: e.path,
          operation: e.operation,
          status: e.error.status,
          attempt: e.attempt,
          durationMs: e.durationMs,
          circuit: circuit(e.operation),
          requestId: e.requestId,
          code: e.error.code,
          err: e.error.message,
        },
        'upstream attempt failed',
      )
    }),
    hooks.retry.subscribe((e) => {
      logger.info(
        {
          method: e.method,
          path: e.path,
          operation: e.operation,
          status: e.error.status,
          attempt: e.attempt,
          delayMs: e.delayMs,
          circuit: circuit(e.operation),
          requestId: e.requestId,
          code: e.error.code,
        },
        'upstream retry scheduled',
      )
    }),
    hooks.budgetExhausted.subscribe((e) => {
      logger.warn(
        {
          operation: e.operation,
          method: e.method,
          path: e.path,
          attempt: e.attempt,
          code: e.error.code,
          status: e.error.status,
          calls: e.calls,
          retries: e.retries,
          requestId: e.requestId,
        },
        'upstream retry refused by the retry budget',
      )
    }),
    hooks.limitChange.subscribe((e) => {
      // Debug: a learned limit moves with nearly every sample under load.
      logger.debug(
        {
          operation: e.operation,
          limit: e.limit,
          previous: e.previous,
          rttMs: e.rttMs,
          longRttMs: Math.round(e.longRttMs),
          inFlight: e.inFlight,
        },
        'upstream concurrency limit changed',
      )
    }),
    hooks.stateChange.subscribe((e) => {
      logger.warn(
        {
          circuit: e.to,
          from: e.from,
          breaker: e.name,
          operation: e.operation,
          ...(e.scope === undefined ? {} : { scope: e.scope }),
        },
        e.scope === 'fleet'
          ? 'upstream fleet circuit state changed'
          : 'upstream circuit state changed',
      )
    }),
    hooks.rampChange.subscribe((e) => {
      // `upstream` is bound by the caller's child logger; repeating it would duplicate the key.
      logger.info(
        {
          circuit: circuit(e.operation),
          operation: e.operation,
          phase: e.phase,
          // JSON has no Infinity; null (unrestricted, on `finished`) keeps the field numeric for
          // log indexers instead of mixing in a string.
          allowedInFlight: Number.isFinite(e.allowedInFlight) ? e.allowedInFlight : null,
          queued: e.queued,
        },
        'upstream circuit ramp changed',
      )
    }),
  ]
  return () => {
    for (const off of unsubscribe) off()
  }
}
