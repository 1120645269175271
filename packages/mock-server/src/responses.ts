import { HttpResponse } from 'msw'

/** JSON bodies of the error answers, one shape for all: `{ error, message }`. */
export function notFound(message: string): Response {
  return HttpResponse.json({ error: 'Not Found', message }, { status: 404 })
}

/** A `400` with a message naming the bad input. */
export function badRequest(message: string): Response {
  return HttpResponse.json({ error: 'Bad Request', message }, { status: 400 })
}

/** A `409` for an event id that is already stored. */
export function conflict(message: string): Response {
  return HttpResponse.json({ error: 'Conflict', message }, { status: 409 })
}

/**
 * The original upstream's `503` body (`addEvent` in its failing phase, and every route in `down`
 * mode), optionally with `Retry-After`.
 */
export function unavailable(message: string, retryAfterSeconds: number | undefined): Response {
  const headers =
    retryAfterSeconds === undefined ? undefined : { 'Retry-After': String(retryAfterSeconds) }
  return HttpResponse.json(
    { success: false, error: 'Service temporarily unavailable', message },
    { status: 503, headers },
  )
}

/** A `504`: the request's propagated deadline (`x-request-timeout-ms`) passed before it was served. */
export function gatewayTimeout(message: string): Response {
  return HttpResponse.json({ error: 'Gateway Timeout', message }, { status: 504 })
}
