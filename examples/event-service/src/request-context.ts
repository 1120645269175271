import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/** The header carrying the request id, in and out, and to the upstream. */
export const REQUEST_ID_HEADER = 'x-request-id'

/** Accepted incoming ids: short and header-safe, so a caller cannot inject into our logs. */
const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/

/**
 * Fastify's `genReqId`: reuse a well-formed incoming `x-request-id` so one id follows a request
 * across services, otherwise mint a UUID. A malformed incoming id is replaced, not trusted.
 */
export function genRequestId(req: IncomingMessage): string {
  const incoming = req.headers[REQUEST_ID_HEADER]
  return typeof incoming === 'string' && SAFE_ID.test(incoming) ? incoming : randomUUID()
}
