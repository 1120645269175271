/**
 * Internal: the two shapes the mock's behaviour is written against, whatever carries a request:
 * msw's Fetch `Request` (`mock.handlers`) or a node:http request (`mock.listen()`). The core
 * reads a request through {@link CoreRequest} and answers a plain {@link CoreAnswer}; each
 * transport converts only what it needs, so `listen()` builds no Fetch `Request`/`Response`.
 */

/** Internal: one request as the core reads it. */
export interface CoreRequest {
  /** Upper-case method. */
  readonly method: string
  /** The request target as sent: path (base path included) and query, e.g. `/getEventById/7?x=1`. */
  readonly target: string
  /** The query string without `?` (`''` when there is none). */
  readonly query: string
  /** One header by lower-case name (repeated headers joined with `, `), or `undefined`. */
  header(name: string): string | undefined
  /** Every header, names lower-cased (for the request recorder). */
  headers(): Record<string, string>
  /** `true` once the client has gone away; cheap to read (no signal is created for it). */
  readonly aborted: boolean
  /** Aborts when the client goes away; read only by delays, which wait on it. */
  readonly signal: AbortSignal
  /** The body parsed as JSON, or `undefined` when it is not valid JSON. */
  json(): Promise<unknown>
}

/** Internal: a JSON answer: status, the value to serialise, extra headers. */
export interface JsonAnswer {
  readonly kind: 'json'
  readonly status: number
  readonly body: unknown
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/** Internal: a dropped connection (msw's `HttpResponse.error()`; `listen()` destroys the socket). */
export interface NetworkErrorAnswer {
  readonly kind: 'network-error'
}

/** Internal: what the core answers. */
export type CoreAnswer = JsonAnswer | NetworkErrorAnswer

/** Internal: the one network-error answer (it carries nothing, so it is shared). */
export const NETWORK_ERROR: NetworkErrorAnswer = Object.freeze({ kind: 'network-error' })

/** Internal: a `200` (or `status`) JSON answer. */
export function json(body: unknown, headers?: Record<string, string>, status = 200): JsonAnswer {
  return { kind: 'json', status, body, headers }
}

/** A `404`; every error answer has one body shape: `{ error, message }`. */
export function notFound(message: string): JsonAnswer {
  return json({ error: 'Not Found', message }, undefined, 404)
}

/** A `400` with a message naming the bad input. */
export function badRequest(message: string): JsonAnswer {
  return json({ error: 'Bad Request', message }, undefined, 400)
}

/** A `409` for an event id that is already stored. */
export function conflict(message: string): JsonAnswer {
  return json({ error: 'Conflict', message }, undefined, 409)
}

/**
 * The original upstream's `503` body (`addEvent` in its failing phase, and every route in `down`
 * mode), optionally with `Retry-After`.
 */
export function unavailable(message: string, retryAfterSeconds: number | undefined): JsonAnswer {
  return json(
    { success: false, error: 'Service temporarily unavailable', message },
    retryAfterSeconds === undefined ? undefined : { 'Retry-After': String(retryAfterSeconds) },
    503,
  )
}

/** A `504`: the request's propagated deadline (`x-request-timeout-ms`) passed before it was served. */
export function gatewayTimeout(message: string): JsonAnswer {
  return json({ error: 'Gateway Timeout', message }, undefined, 504)
}
