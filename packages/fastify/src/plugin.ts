import {
  createEventAggregator,
  type EventAggregator,
  type EventAggregatorOptions,
} from '@userevents/event-aggregator'
import {
  createUpstreamClient,
  type UpstreamClient,
  type UpstreamClientOptions,
} from '@userevents/upstream-client'
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify'
import fp from 'fastify-plugin'
import { callerGoneSignal } from './caller-gone.js'
import { InvalidPluginOptionError } from './errors/plugin-error.js'
import { type HttpProblemOptions, toHttpProblem } from './problem.js'

/** What every upstream call made for a request should carry; see `reply.upstreamContext()`. */
export interface UpstreamCallContext {
  /** `request.id`, forwarded upstream as `x-request-id` and added to the client's log lines. */
  requestId: string
  /** Aborts when the caller goes away before the answer was sent; see {@link callerGoneSignal}. */
  signal: AbortSignal
}

/** Options of the plugin's error handler. */
export interface ErrorHandlerOptions extends HttpProblemOptions {}

/** Options of {@link userEvents}. */
export interface UserEventsPluginOptions {
  /**
   * The upstream client: an instance (yours: the plugin never closes it), or the options of
   * `createUpstreamClient` (the plugin creates the client, with Fastify's logger unless you pass
   * one, and closes it in `onClose`).
   */
  client: UpstreamClient | UpstreamClientOptions
  /**
   * The event aggregator: an instance, or the options of `createEventAggregator` without
   * `client` (it is created over the plugin's client). Default: one with default options.
   */
  aggregator?: EventAggregator | Omit<EventAggregatorOptions, 'client'>
  /**
   * Install an error handler that answers every error through {@link toHttpProblem} and logs it
   * at the row's level (`true`, the default), or `false` to keep yours. An object chooses the
   * body format: `{ format: 'problem+json' }` for RFC 9457.
   */
  errorHandler?: boolean | ErrorHandlerOptions
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The upstream client registered by `@userevents/fastify`. */
    upstream: UpstreamClient
    /** The event aggregator registered by `@userevents/fastify`. */
    eventAggregator: EventAggregator
  }
  interface FastifyReply {
    /**
     * `{ requestId, signal }` for this request's upstream calls: `request.id` and a signal that
     * aborts when the caller goes away before the answer was sent. Created on first use, then
     * the same object. (On the reply, because the signal listens to the response.)
     */
    upstreamContext(): import('./plugin.js').UpstreamCallContext
  }
}

const kContext = Symbol('userevents.upstreamContext')

/** Private: the plugin body; exported wrapped by fastify-plugin as {@link userEvents}. */
const plugin: FastifyPluginAsync<UserEventsPluginOptions> = async (fastify, options) => {
  const opts = validate(options)
  const ownClient = !isClient(opts.client)
  const client = isClient(opts.client)
    ? opts.client
    : createUpstreamClient({ logger: fastify.log, ...opts.client })
  const aggregator = isAggregator(opts.aggregator)
    ? opts.aggregator
    : createEventAggregator({ ...opts.aggregator, client })

  fastify.decorate('upstream', client)
  fastify.decorate('eventAggregator', aggregator)
  // A null slot declared up front keeps every request object the same shape; the signal and its
  // listener are only created for requests that call the upstream.
  fastify.decorateReply(kContext, null)
  fastify.decorateReply('upstreamContext', function upstreamContext(this: FastifyReply) {
    const self = this as FastifyReply & { [kContext]: UpstreamCallContext | null }
    let context = self[kContext]
    if (context === null) {
      context = { requestId: this.request.id, signal: callerGoneSignal(this.raw) }
      self[kContext] = context
    }
    return context
  })

  if (opts.errorHandler !== false) {
    const problemOptions: HttpProblemOptions = opts.errorHandler === true ? {} : opts.errorHandler
    fastify.setErrorHandler((error: FastifyError, request, reply) => {
      const problem = toHttpProblem(error, problemOptions)
      const fields = problem.logStack
        ? { err: error, statusCode: problem.statusCode }
        : { code: problem.body.code, statusCode: problem.statusCode, reason: error.message }
      request.log[problem.logLevel](fields, 'request failed')
      return reply.code(problem.statusCode).headers(problem.headers).send(problem.body)
    })
  }

  if (ownClient) {
    // onClose runs after Fastify drained in-flight requests, so none of them loses its client.
    fastify.addHook('onClose', async () => {
      await client.close()
    })
  }
}

/**
 * The userevents toolkit as a Fastify 5 plugin. It decorates the instance with `upstream` (the
 * client) and `eventAggregator`, each reply with `upstreamContext()` (`request.id` and a
 * caller-gone signal for every upstream call), and installs an error handler built on
 * {@link toHttpProblem} (optional). It is wrapped with `fastify-plugin`, so the decorators and
 * the error handler apply to the context it is registered in. What it creates it closes in
 * `onClose`; a client you pass in stays yours.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify'
 * import { userEvents } from '@userevents/fastify'
 *
 * const app = Fastify({ logger: true })
 * await app.register(userEvents, { client: { baseUrl: 'http://127.0.0.1:4000' } })
 * app.get('/users', async (_request, reply) => app.upstream.get('/getUsers', reply.upstreamContext()))
 * ```
 */
export const userEvents = fp(plugin, { name: '@userevents/fastify', fastify: '5.x' })

/** Private: a client instance rather than options. */
function isClient(value: unknown): value is UpstreamClient {
  return typeof (value as UpstreamClient | undefined)?.get === 'function'
}

/** Private: an aggregator instance rather than options. */
function isAggregator(value: unknown): value is EventAggregator {
  return typeof (value as EventAggregator | undefined)?.getEventsByUserId === 'function'
}

/** Private: checks the options at registration, naming the bad one. */
function validate(options: UserEventsPluginOptions) {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidPluginOptionError('options', 'an object', options)
  }
  const { client, aggregator, errorHandler = true } = options
  if (typeof client !== 'object' || client === null) {
    throw new InvalidPluginOptionError('client', 'an UpstreamClient or its options', client)
  }
  if (aggregator !== undefined && (typeof aggregator !== 'object' || aggregator === null)) {
    throw new InvalidPluginOptionError(
      'aggregator',
      'an EventAggregator or its options',
      aggregator,
    )
  }
  if (typeof errorHandler !== 'boolean') {
    const format = (errorHandler as ErrorHandlerOptions | null)?.format
    if (
      typeof errorHandler !== 'object' ||
      errorHandler === null ||
      (format !== undefined && format !== 'json' && format !== 'problem+json')
    ) {
      throw new InvalidPluginOptionError(
        'errorHandler',
        "a boolean or { format: 'json' | 'problem+json' }",
        errorHandler,
      )
    }
  }
  return { client, aggregator: aggregator ?? {}, errorHandler }
}

/** @internal For the page-route helper: the instance's decorators, checked. */
export function requireDecorators(app: FastifyInstance): void {
  if (!app.hasDecorator('eventAggregator')) {
    throw new InvalidPluginOptionError(
      'app',
      'a Fastify instance with @userevents/fastify registered (await app.register(userEvents, ...) first)',
      'an instance without the eventAggregator decorator',
    )
  }
}
