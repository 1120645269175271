import { attemptsSuffix, UpstreamError, UpstreamErrorCode } from './upstream-error.js'

/**
 * Socket-level codes meaning the connection was never established, so the upstream certainly did
 * not process the request (safe to retry even a POST).
 */
const CONNECT_FAILURES = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
])

/** The connection failed or broke (refused, reset, DNS, closed socket). */
export class UpstreamNetworkError extends UpstreamError {
  /** Always `UPSTREAM_NETWORK`. */
  readonly code = UpstreamErrorCode.Network
  /** The low-level code of the cause, e.g. `ECONNREFUSED` or `UND_ERR_SOCKET`. */
  readonly causeCode: string | undefined
  /** True when no connection was established, so the request certainly was not processed. */
  readonly connectFailed: boolean

  constructor(init: { method: string; url: string; attempts: number; cause: unknown }) {
    const causeCode = codeOf(init.cause)
    const detail = causeCode ?? (init.cause instanceof Error ? init.cause.message : 'network error')
    super(`${init.method} ${init.url}: ${detail} ${attemptsSuffix(init.attempts)}`, init)
    this.name = 'UpstreamNetworkError'
    this.causeCode = causeCode
    this.connectFailed = causeCode !== undefined && CONNECT_FAILURES.has(causeCode)
  }
}

/** Private: reads `code` from an error or, for AggregateError (happy eyeballs), its first member. */
function codeOf(cause: unknown): string | undefined {
  if (typeof cause !== 'object' || cause === null) return undefined
  const code = (cause as { code?: unknown }).code
  if (typeof code === 'string') return code
  const inner = (cause as { errors?: unknown[] }).errors?.[0]
  return inner === undefined ? undefined : codeOf(inner)
}
