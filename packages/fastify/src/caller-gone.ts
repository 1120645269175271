import type { ServerResponse } from 'node:http'

/**
 * An `AbortSignal` that fires when the caller goes away before the answer was sent, so upstream
 * work on its behalf stops; its reason is an `Error` saying so.
 *
 * It listens on the response (`close` before `writableFinished`), not on the request: on Node 20
 * with Fastify 5, `request.signal` aborts as soon as a request body has been read, which says
 * nothing about the caller still waiting and would cancel upstream writes. A graceful shutdown
 * does not abort it: in-flight requests are meant to finish.
 *
 * @example
 * ```ts
 * import { callerGoneSignal } from '@userevents/fastify'
 * import type { FastifyReply } from 'fastify'
 * declare const reply: FastifyReply
 * const signal = callerGoneSignal(reply.raw)
 * ```
 */
export function callerGoneSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController()
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new Error('The caller closed the connection'))
  })
  return controller.signal
}
