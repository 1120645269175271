/**
 * Every stable error code this package produces. Switch on `error.code`, never on messages.
 */
export const UpstreamErrorCode = {
  Timeout: 'UPSTREAM_TIMEOUT',
  Network: 'UPSTREAM_NETWORK',
  HttpStatus: 'UPSTREAM_HTTP_STATUS',
  CircuitOpen: 'UPSTREAM_CIRCUIT_OPEN',
  InvalidBody: 'UPSTREAM_INVALID_BODY',
  BodyTooLarge: 'UPSTREAM_BODY_TOO_LARGE',
  Aborted: 'UPSTREAM_ABORTED',
  InvalidOption: 'UPSTREAM_INVALID_OPTION',
  ClientClosed: 'UPSTREAM_CLIENT_CLOSED',
  RateLimited: 'UPSTREAM_RATE_LIMITED',
} as const

/** The union of all {@link UpstreamErrorCode} values. */
export type UpstreamErrorCode = (typeof UpstreamErrorCode)[keyof typeof UpstreamErrorCode]

/**
 * A brand shared by every copy of this package loaded in one process. `Symbol.for` makes it the
 * same symbol across copies, so the guards work where `instanceof` would not (two versions
 * installed side by side).
 */
const kUpstreamError = Symbol.for('@userevents/upstream-client.UpstreamError')

const codes = new Set<string>(Object.values(UpstreamErrorCode))

/** Fields every {@link UpstreamError} subclass passes to the base constructor. */
export interface UpstreamErrorInit {
  /** HTTP method of the call, e.g. `GET`. */
  method: string
  /** Absolute URL of the call. */
  url: string
  /** Number of network attempts made when the error was thrown. */
  attempts: number
  /** HTTP status, when a response was received. */
  status?: number
  /** How long the caller should wait before trying again, when known. */
  retryAfterMs?: number
  /** The underlying error, if any. */
  cause?: unknown
}

/**
 * Base class of every error the client throws. Carries the call's `method`, `url`, the number of
 * `attempts`, and `status` / `retryAfterMs` where they apply.
 *
 * @example
 * // Map any upstream failure to a 503 with Retry-After in one line:
 * if (isUpstreamError(err)) reply.code(503).header('retry-after', Math.ceil((err.retryAfterMs ?? 1000) / 1000))
 */
export abstract class UpstreamError extends Error {
  /** Stable machine-readable code, see {@link UpstreamErrorCode}. */
  abstract readonly code: UpstreamErrorCode
  /** HTTP method of the failed call. */
  readonly method: string
  /** Absolute URL of the failed call. */
  readonly url: string
  /** Network attempts made, including the one that produced this error. */
  readonly attempts: number
  /** HTTP status of the response, when there was one. */
  readonly status: number | undefined
  /** Suggested wait before calling again (from `Retry-After` or the breaker), when known. */
  readonly retryAfterMs: number | undefined

  constructor(message: string, init: UpstreamErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause })
    this.method = init.method
    this.url = init.url
    this.attempts = init.attempts
    this.status = init.status
    this.retryAfterMs = init.retryAfterMs
    Object.defineProperty(this, kUpstreamError, { value: true })
  }
}

/**
 * True for any error thrown by this package (any installed copy of it).
 *
 * @example
 * try { await client.get('/x') } catch (e) { if (isUpstreamError(e)) log.warn({ code: e.code }) }
 */
export function isUpstreamError(error: unknown): error is UpstreamError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as Record<symbol, unknown>)[kUpstreamError] === true &&
    codes.has((error as { code?: unknown }).code as string)
  )
}

/** @internal Formats the shared message tail: `(3 attempts)`. */
export function attemptsSuffix(attempts: number): string {
  return attempts === 1 ? '(1 attempt)' : `(${attempts} attempts)`
}
