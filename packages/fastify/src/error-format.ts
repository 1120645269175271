import type { FastifyInstance } from 'fastify'
import type { HttpProblemOptions } from './problem.js'

/**
 * @internal The key under which the plugin records its error handler's body format on the
 * instance it is registered on. `Symbol.for`, so a second installed copy of this package (the
 * framework handler from one, the plugin from another) still finds it.
 */
export const kErrorFormat = Symbol.for('@userevents/fastify.errorFormat')

/** The body format of an error answer. */
type Format = NonNullable<HttpProblemOptions['format']>

/**
 * @internal The format the plugin's error handler answers in, read from the instance at request
 * time; `undefined` when the plugin is not registered there or installs no error handler.
 */
export function pluginErrorFormat(server: FastifyInstance): Format | undefined {
  const format = (server as unknown as Record<symbol, unknown>)[kErrorFormat]
  return format === 'json' || format === 'problem+json' ? format : undefined
}
