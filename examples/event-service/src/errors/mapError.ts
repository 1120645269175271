import { STATUS_CODES } from 'node:http'

/** What the service answers for an error: status, JSON body and extra headers. */
export interface HttpProblem {
  statusCode: number
  headers: Record<string, string>
  body: { error: string; message: string; retryAfterSeconds?: number; code?: string }
}

/** Retry-After sent when the upstream failed but gave no hint of when it recovers. */
export const DEFAULT_RETRY_AFTER_SECONDS = 1

/**
 * Maps any error thrown while serving a request to an HTTP answer. It reads the stable `code`
 * of the toolkit's errors rather than `instanceof`, so it keeps working if two copies of a
 * package end up installed.
 *
 * | error | answer |
 * | --- | --- |
 * | Fastify validation, `INVALID_ARGUMENT` | 400, message names the bad value |
 * | `UPSTREAM_CIRCUIT_OPEN`, `UPSTREAM_UNAVAILABLE`, `UPSTREAM_NETWORK`, upstream 5xx/429 | 503 + `Retry-After` |
 * | `USER_NOT_FOUND`, upstream 404 | 404 |
 * | `UPSTREAM_TIMEOUT` | 504 |
 * | upstream 400 | 400 (the upstream rejected what we forwarded, e.g. an unknown user) |
 * | other upstream 4xx, invalid or oversized upstream body | 502 |
 * | a Fastify error with a 4xx status (body too large, bad JSON, ...) | that status |
 * | anything else | 500, a bug in this service |
 *
 * An upstream condition never becomes a 500.
 */
export function mapError(err: unknown): HttpProblem {
  const e = (typeof err === 'object' && err !== null ? err : {}) as ErrorLike
  const message = typeof e.message === 'string' ? e.message : String(err)

  switch (e.code) {
    case 'UPSTREAM_CIRCUIT_OPEN':
    case 'UPSTREAM_UNAVAILABLE':
      return unavailable(
        'The event API is unavailable (circuit open); retry later',
        e.retryAfterMs,
        e.code,
      )
    case 'UPSTREAM_NETWORK':
      return unavailable('The event API could not be reached', e.retryAfterMs, e.code)
    case 'UPSTREAM_ABORTED':
      // The caller went away; nobody reads this answer, but it must not count as our bug.
      return unavailable('The request was aborted', e.retryAfterMs, e.code)
    case 'UPSTREAM_TIMEOUT':
      return problem(504, 'The event API did not answer in time', e.code)
    case 'USER_NOT_FOUND':
      return problem(404, message, e.code)
    case 'INVALID_ARGUMENT':
      return problem(400, message, e.code)
    case 'UPSTREAM_INVALID_BODY':
    case 'UPSTREAM_BODY_TOO_LARGE':
      return problem(502, 'The event API sent a response this service cannot read', e.code)
    case 'UPSTREAM_HTTP_STATUS':
      return fromUpstreamStatus(e)
  }

  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return problem(e.statusCode, message, typeof e.code === 'string' ? e.code : undefined)
  }
  return problem(500, 'Internal server error')
}

/** Private: the fields the mapping reads from an unknown thrown value. */
interface ErrorLike {
  code?: unknown
  message?: unknown
  status?: unknown
  statusCode?: unknown
  retryAfterMs?: unknown
  body?: unknown
}

/** Private: maps an upstream HTTP status the client gave up on. */
function fromUpstreamStatus(e: ErrorLike): HttpProblem {
  const status = typeof e.status === 'number' ? e.status : 0
  const upstreamMessage = messageOf(e.body)
  if (status === 404)
    return problem(404, upstreamMessage ?? 'Not found upstream', 'UPSTREAM_NOT_FOUND')
  if (status === 400)
    return problem(400, upstreamMessage ?? 'Rejected by the event API', 'UPSTREAM_REJECTED')
  if (status >= 500 || status === 429) {
    return unavailable(
      `The event API answered ${status}; retry later`,
      e.retryAfterMs,
      'UPSTREAM_HTTP_STATUS',
    )
  }
  return problem(502, `The event API answered ${status}`, 'UPSTREAM_HTTP_STATUS')
}

/** Private: a 503 with `Retry-After`, rounded up to whole seconds and at least 1. */
function unavailable(message: string, retryAfterMs: unknown, code: string): HttpProblem {
  const ms = typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs) ? retryAfterMs : 0
  const retryAfterSeconds = Math.max(DEFAULT_RETRY_AFTER_SECONDS, Math.ceil(ms / 1000))
  const p = problem(503, message, code)
  p.headers['retry-after'] = String(retryAfterSeconds)
  p.body.retryAfterSeconds = retryAfterSeconds
  return p
}

/** Private: builds a problem whose `error` is the status's reason phrase. */
function problem(statusCode: number, message: string, code?: string): HttpProblem {
  const body: HttpProblem['body'] = { error: STATUS_CODES[statusCode] ?? 'Error', message }
  if (code !== undefined) body.code = code
  return { statusCode, headers: {}, body }
}

/** Private: the upstream's own `message` (or `error`) field, when its body carries one. */
function messageOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined
  const { message, error } = body as { message?: unknown; error?: unknown }
  if (typeof message === 'string') return message
  return typeof error === 'string' ? error : undefined
}
