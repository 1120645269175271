import { isHeaderToken } from '@userevents/check-kit'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { InvalidPluginOptionError } from './errors/plugin-error.js'
import { type HttpProblemOptions, toHttpProblem } from './problem.js'

/** Options of {@link frameworkErrorHandler}. */
export interface FrameworkErrorHandlerOptions extends HttpProblemOptions {
  /**
   * The header that carries `request.id` on every other answer of the service (set by its own
   * `onRequest` hook, which does not run for these errors). Default `'x-request-id'`; `false`
   * sends none.
   */
  requestIdHeader?: string | false
}

/** The function Fastify's `frameworkErrors` constructor option takes. */
export type FrameworkErrorHandler = (
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
) => void

/**
 * A handler for Fastify's `frameworkErrors` constructor option, answering through
 * {@link toHttpProblem} like the plugin's error handler, with the request id header.
 *
 * Fastify refuses some requests before routing: a path that cannot be decoded
 * (`FST_ERR_BAD_URL`, e.g. `GET /users/%`) and a path parameter over `maxParamLength`
 * (`FST_ERR_MAX_PARAM_LENGTH`, 414). No hook and no error handler runs for them, so their default
 * answers carry neither the request id nor the service's error body (`statusCode` instead of
 * `code`, `error: "Bad Request"` on a 414). Only the constructor option reaches them, which is why
 * this is a helper to pass to `Fastify()`, not something the plugin can install.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify'
 * import { frameworkErrorHandler } from '@userevents/fastify'
 *
 * const app = Fastify({ frameworkErrors: frameworkErrorHandler({ requestIdHeader: 'x-request-id' }) })
 * ```
 */
export function frameworkErrorHandler(
  options: FrameworkErrorHandlerOptions = {},
): FrameworkErrorHandler {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidPluginOptionError('options', 'an object', options)
  }
  const { requestIdHeader = 'x-request-id', format = 'json' } = options
  if (requestIdHeader !== false && !isHeaderToken(requestIdHeader)) {
    throw new InvalidPluginOptionError('requestIdHeader', 'a header name or false', requestIdHeader)
  }
  if (format !== 'json' && format !== 'problem+json') {
    throw new InvalidPluginOptionError('format', "'json' or 'problem+json'", format)
  }
  return (error, request, reply) => {
    const problem = toHttpProblem(error, { format })
    if (requestIdHeader !== false) reply.header(requestIdHeader, request.id)
    request.log[problem.logLevel](
      { code: problem.body.code, statusCode: problem.statusCode, reason: error.message },
      'request refused before routing',
    )
    reply.code(problem.statusCode).headers(problem.headers).send(problem.body)
  }
}
