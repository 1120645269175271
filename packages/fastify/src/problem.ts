import { STATUS_CODES } from 'node:http'
import { isAggregatorError } from '@userevents/event-aggregator'
import { isUpstreamError } from '@userevents/upstream-client'
import { isUserEventsFastifyError } from './errors/plugin-error.js'

/** Log level of a mapped error: how loudly a service should log it. */
export type ProblemLogLevel = 'error' | 'warn' | 'info'

/** The `{ error, message, code }` body (the default format). */
export interface JsonErrorBody {
  /** The status's reason phrase, e.g. `Service Unavailable`. */
  error: string
  /** What went wrong, for a person. */
  message: string
  /** Stable code to branch on, e.g. `UPSTREAM_CIRCUIT_OPEN`. */
  code?: string
  /** Seconds to wait before retrying (503 only), the same value as `Retry-After`. */
  retryAfterSeconds?: number
}

/** An RFC 9457 problem details body (`application/problem+json`). */
export interface ProblemDetailsBody {
  /** Always `about:blank`: the status says what kind of problem it is. */
  type: 'about:blank'
  /** The status's reason phrase. */
  title: string
  /** The HTTP status. */
  status: number
  /** What went wrong, for a person. */
  detail: string
  /** Extension member: the stable code. */
  code?: string
  /** Extension member: seconds to wait before retrying (503 only). */
  retryAfterSeconds?: number
}

/** Options of {@link toHttpProblem}. */
export interface HttpProblemOptions {
  /**
   * `json` (default): `{ error, message, code }` as `application/json`;
   * `problem+json`: an RFC 9457 body as `application/problem+json`.
   */
  format?: 'json' | 'problem+json'
}

/** What to answer for an error, and how to log it. */
export interface HttpProblem<B = JsonErrorBody | ProblemDetailsBody> {
  /** HTTP status. */
  statusCode: number
  /** Headers to send: `retry-after` on a 503, `content-type` for `problem+json`. */
  headers: Record<string, string>
  /** The response body. */
  body: B
  /** How loudly to log it. */
  logLevel: ProblemLogLevel
  /**
   * Whether the log line should carry the error with its stack. False for expected, fast
   * rejections (open circuit, not found, bad input), where a stack is noise.
   */
  logStack: boolean
  /**
   * The upstream's own error text (`message` or `error` of its body), when it sent one: for a
   * debug log line only. It is never put in `body`, because a real upstream's text can name its
   * internals (tables, hosts, services); the plugin's error handler logs it at `debug`.
   */
  upstreamMessage?: string
}

/** Retry-After, in seconds, when the upstream failed but gave no hint of when it recovers. */
export const DEFAULT_RETRY_AFTER_SECONDS = 1

/**
 * Maps any error thrown while serving a request (by `@userevents/upstream-client`,
 * `@userevents/event-aggregator`, this package or Fastify) to an HTTP answer. A pure function:
 * the plugin's error handler uses it, and any other handler can. It recognises the toolkit's
 * errors by their brand-checked guards, so two installed copies of a package still map.
 *
 * | error (`code`) | status | `code` in the body | log |
 * | --- | --- | --- | --- |
 * | `UPSTREAM_CIRCUIT_OPEN` (client), `UPSTREAM_UNAVAILABLE` (aggregator) | 503 + `Retry-After` | `UPSTREAM_CIRCUIT_OPEN` | warn, no stack |
 * | `UPSTREAM_RATE_LIMITED` (the client's `rateLimit`: the upstream's quota is spent) | 503 + `Retry-After` | `UPSTREAM_RATE_LIMITED` | warn, no stack |
 * | `UPSTREAM_NETWORK` | 503 + `Retry-After` | `UPSTREAM_NETWORK` | warn |
 * | `UPSTREAM_HTTP_STATUS` 5xx or 429 | 503 + `Retry-After` (the upstream's, else 1 s) | `UPSTREAM_HTTP_STATUS` | warn |
 * | `UPSTREAM_ABORTED` (the caller went away) | 503 + `Retry-After` | `UPSTREAM_ABORTED` | info, no stack |
 * | `UPSTREAM_TIMEOUT` | 504 | `UPSTREAM_TIMEOUT` | warn, no stack |
 * | `DEADLINE_EXCEEDED` (the request arrived with less than `minDeadlineMs` left) | 504 | `DEADLINE_EXCEEDED` | info, no stack |
 * | `USER_NOT_FOUND`, `EVENT_NOT_FOUND` | 404 | same | info, no stack |
 * | `UPSTREAM_HTTP_STATUS` 404 | 404 `Not Found` | `UPSTREAM_NOT_FOUND` | info, no stack |
 * | `UPSTREAM_HTTP_STATUS` 400 | 400 `Rejected by the upstream` | `UPSTREAM_REJECTED` | info, no stack |
 * | other upstream 4xx | 502 | `UPSTREAM_HTTP_STATUS` | error |
 * | `UPSTREAM_INVALID_BODY`, `UPSTREAM_BODY_TOO_LARGE`, `UPSTREAM_INVALID_DATA` | 502 | same | error |
 * | `INVALID_ARGUMENT` (aggregator), `INVALID_INPUT` (query), Fastify validation | 400 | `INVALID_ARGUMENT` / `INVALID_INPUT` | info, no stack |
 * | `UPSTREAM_INVALID_OPTION` (a caller error in code calling the client) | 500 | `UPSTREAM_INVALID_OPTION` | error |
 * | `UPSTREAM_CLIENT_CLOSED` (a call made after the client's `close()`) | 500, no `Retry-After` | `UPSTREAM_CLIENT_CLOSED` | error |
 * | another error with a 4xx `statusCode` (body too large, bad JSON, ...) | that status | its `code` | info, no stack |
 * | anything else | 500 `Internal server error` (the message is not leaked) | none | error |
 *
 * An upstream condition never becomes a 500; a 500 is a bug in the service. The message is always
 * the toolkit's own (or the aggregator's, e.g. `User "999" was not found`): the upstream's error
 * text is never copied into the body, only returned as `upstreamMessage` for a debug log.
 *
 * @example
 * ```ts
 * import { toHttpProblem } from '@userevents/fastify'
 * declare const err: unknown
 * const problem = toHttpProblem(err, { format: 'problem+json' })
 * // problem.statusCode, problem.headers, problem.body, problem.logLevel
 * ```
 */
export function toHttpProblem(
  error: unknown,
  options?: { format?: 'json' },
): HttpProblem<JsonErrorBody>
export function toHttpProblem(
  error: unknown,
  options: { format: 'problem+json' },
): HttpProblem<ProblemDetailsBody>
export function toHttpProblem(error: unknown, options?: HttpProblemOptions): HttpProblem
export function toHttpProblem(error: unknown, options: HttpProblemOptions = {}): HttpProblem {
  const row = classify(error)
  const statusCode = row.status
  const title = STATUS_CODES[statusCode] ?? 'Error'
  const headers: Record<string, string> = {}
  if (row.retryAfterSeconds !== undefined) headers['retry-after'] = String(row.retryAfterSeconds)
  let body: JsonErrorBody | ProblemDetailsBody
  if (options.format === 'problem+json') {
    headers['content-type'] = 'application/problem+json; charset=utf-8'
    const problem: ProblemDetailsBody = {
      type: 'about:blank',
      title,
      status: statusCode,
      detail: row.message,
    }
    if (row.code !== undefined) problem.code = row.code
    if (row.retryAfterSeconds !== undefined) problem.retryAfterSeconds = row.retryAfterSeconds
    body = problem
  } else {
    const json: JsonErrorBody = { error: title, message: row.message }
    if (row.code !== undefined) json.code = row.code
    if (row.retryAfterSeconds !== undefined) json.retryAfterSeconds = row.retryAfterSeconds
    body = json
  }
  const problem: HttpProblem = {
    statusCode,
    headers,
    body,
    logLevel: row.logLevel,
    logStack: row.logStack,
  }
  if (row.upstreamMessage !== undefined) problem.upstreamMessage = row.upstreamMessage
  return problem
}

/** Private: one row of the table. */
interface Row {
  status: number
  message: string
  code: string | undefined
  retryAfterSeconds?: number
  logLevel: ProblemLogLevel
  logStack: boolean
  upstreamMessage?: string
}

/** Private: the table of {@link toHttpProblem}, row by row. */
function classify(error: unknown): Row {
  const e = (typeof error === 'object' && error !== null ? error : {}) as ErrorLike
  const message = typeof e.message === 'string' ? e.message : String(error)

  if (isUpstreamError(error) || isAggregatorError(error)) {
    switch (error.code) {
      case 'UPSTREAM_CIRCUIT_OPEN':
      case 'UPSTREAM_UNAVAILABLE':
        // One code whichever package raised it: a caller only needs "come back later".
        return unavailable(
          'The upstream is unavailable (circuit open); retry later',
          e.retryAfterMs,
          'UPSTREAM_CIRCUIT_OPEN',
          'warn',
          false,
        )
      case 'UPSTREAM_RATE_LIMITED':
        // Our own pacing (or the upstream's 429): a quota, not an outage, and never a 500.
        return unavailable(
          "The upstream's quota is spent; retry later",
          e.retryAfterMs,
          error.code,
          'warn',
          false,
        )
      case 'UPSTREAM_NETWORK':
        return unavailable(
          'The upstream could not be reached',
          e.retryAfterMs,
          error.code,
          'warn',
          true,
        )
      case 'UPSTREAM_ABORTED':
        // The caller went away; nobody reads this answer, but it must not count as our bug.
        return unavailable('The request was aborted', e.retryAfterMs, error.code, 'info', false)
      case 'UPSTREAM_TIMEOUT':
        return row(504, 'The upstream did not answer in time', error.code, 'warn', false)
      case 'USER_NOT_FOUND':
      case 'EVENT_NOT_FOUND':
        return row(404, message, error.code, 'info', false)
      case 'INVALID_ARGUMENT':
        return row(400, message, error.code, 'info', false)
      case 'UPSTREAM_INVALID_BODY':
      case 'UPSTREAM_BODY_TOO_LARGE':
      case 'UPSTREAM_INVALID_DATA':
        return row(
          502,
          'The upstream sent a response this service cannot read',
          error.code,
          'error',
          true,
        )
      case 'UPSTREAM_HTTP_STATUS':
        return fromUpstreamStatus(e)
      case 'UPSTREAM_INVALID_OPTION':
      case 'UPSTREAM_CLIENT_CLOSED':
        // A mistake in the code calling the client (a bad option, a call after close()), not an
        // upstream condition: our bug, so a 500 and no Retry-After that would page as an outage.
        return row(500, 'Internal server error', error.code, 'error', true)
    }
  }
  // A client copy older than UPSTREAM_CLIENT_CLOSED does not brand it; a newer one's code is not
  // known to an older guard. Either way, a call after close() is still our bug.
  if (e.code === 'UPSTREAM_CLIENT_CLOSED') {
    return row(500, 'Internal server error', e.code, 'error', true)
  }
  if (isUserEventsFastifyError(error) && error.code === 'DEADLINE_EXCEEDED') {
    return row(504, message, error.code, 'info', false)
  }
  if (isUserEventsFastifyError(error) && error.code === 'INVALID_INPUT') {
    return row(400, message, error.code, 'info', false)
  }
  if (Array.isArray(e.validation)) return row(400, message, 'INVALID_INPUT', 'info', false)
  // Errors of another layer that carry their own code: a service's own error classes sharing a
  // toolkit code (e.g. a response-shape check raising `UPSTREAM_INVALID_BODY`) map the same way.
  if (e.code === 'UPSTREAM_INVALID_BODY' || e.code === 'UPSTREAM_INVALID_DATA') {
    return row(502, 'The upstream sent a response this service cannot read', e.code, 'error', true)
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return row(
      e.statusCode,
      message,
      typeof e.code === 'string' ? e.code : undefined,
      'info',
      false,
    )
  }
  return row(500, 'Internal server error', undefined, 'error', true)
}

/** Private: the fields the mapping reads from an unknown thrown value. */
interface ErrorLike {
  code?: unknown
  message?: unknown
  status?: unknown
  statusCode?: unknown
  retryAfterMs?: unknown
  body?: unknown
  validation?: unknown
}

/** Private: an upstream HTTP status the client gave up on. */
function fromUpstreamStatus(e: ErrorLike): Row {
  const status = typeof e.status === 'number' ? e.status : 0
  // The upstream's words stay out of the answer, whatever the status: a real upstream's error
  // text can name its tables, hosts or services. It goes to the debug log instead.
  const upstreamMessage = messageOf(e.body)
  const withText = (r: Row): Row => (upstreamMessage === undefined ? r : { ...r, upstreamMessage })
  if (status === 404) {
    return withText(row(404, 'Not Found', 'UPSTREAM_NOT_FOUND', 'info', false))
  }
  if (status === 400) {
    // The upstream rejected what we forwarded (e.g. an unknown user): the caller's input.
    return withText(row(400, 'Rejected by the upstream', 'UPSTREAM_REJECTED', 'info', false))
  }
  if (status >= 500 || status === 429) {
    return withText(
      unavailable(
        `The upstream answered ${status}; retry later`,
        e.retryAfterMs,
        'UPSTREAM_HTTP_STATUS',
        'warn',
        false,
      ),
    )
  }
  return withText(
    row(502, `The upstream answered ${status}`, 'UPSTREAM_HTTP_STATUS', 'error', true),
  )
}

/** Private: a 503 with `Retry-After`, rounded up to whole seconds and at least 1. */
function unavailable(
  message: string,
  retryAfterMs: unknown,
  code: string,
  logLevel: ProblemLogLevel,
  logStack: boolean,
): Row {
  const ms = typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs) ? retryAfterMs : 0
  const retryAfterSeconds = Math.max(DEFAULT_RETRY_AFTER_SECONDS, Math.ceil(ms / 1000))
  return { ...row(503, message, code, logLevel, logStack), retryAfterSeconds }
}

/** Private: builds a row. */
function row(
  status: number,
  message: string,
  code: string | undefined,
  logLevel: ProblemLogLevel,
  logStack: boolean,
): Row {
  return { status, message, code, logLevel, logStack }
}

/** Private: the upstream's own `message` (or `error`) field, when its body carries one. */
function messageOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined
  const { message, error } = body as { message?: unknown; error?: unknown }
  if (typeof message === 'string') return message
  return typeof error === 'string' ? error : undefined
}
