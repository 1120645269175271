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
import { checks } from './checks.js'
import { kErrorFormat } from './error-format.js'
import { DeadlineExceededError, InvalidPluginOptionError } from './errors/plugin-error.js'
import { type HttpProblemOptions, toHttpProblem } from './problem.js'
import { RejectionLog } from './rejection-log.js'

/** What every upstream call made for a request should carry; see `reply.upstreamContext()`. */
export interface UpstreamCallContext {
  /** `request.id`, forwarded upstream as `x-request-id` and added to the client's log lines. */
  requestId: string
  /** Aborts when the caller goes away before the answer was sent; see {@link callerGoneSignal}. */
  signal: AbortSignal
  /**
   * When the request came with a deadline (`x-request-timeout-ms`): what is left of it now, in
   * ms, at most the client's own `deadlineMs`; read when the call starts, so every upstream call
   * of the request gets the time really left. Absent without the header.
   */
  readonly deadlineMs?: number
}

/** Options of the plugin's deadline propagation (`deadline`). */
export interface DeadlineOptions {
  /** The incoming header carrying the caller's remaining time in ms. Default `x-request-timeout-ms`. */
  header?: string
  /** A request with less time left than this is answered 504 at once. Default 10. */
  minDeadlineMs?: number
}

/** Options of the plugin's error handler. */
export interface ErrorHandlerOptions extends HttpProblemOptions {
  /**
   * Also answer unknown routes (404) in the same format, with a not-found handler set in the
   * context the plugin is registered in (and its children, unless they set their own). Default:
   * `true` with `format: 'problem+json'` (a problem+json API should not answer Fastify's JSON
   * 404), else `false`, which keeps Fastify's or yours. Fastify allows one not-found handler per
   * context: with `true`, do not call `setNotFoundHandler` in that context yourself.
   */
  notFound?: boolean
  /**
   * Expected, fast rejections (503 without a stack: an open circuit, an upstream still failing
   * after its retries) are logged once, then counted: one line per code and interval while they
   * keep coming. Default `10_000` ms; `0` logs every one.
   */
  rejectionLogIntervalMs?: number
}

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
  /**
   * Deadline propagation (on by default): a request carrying `x-request-timeout-ms` (its caller's
   * remaining time, in whole ms) with less than `minDeadlineMs` left is answered 504 at once
   * without calling the upstream; otherwise the time it has left caps the `deadlineMs` of every
   * upstream call made through `reply.upstreamContext()` (and so goes upstream in the same
   * header). A malformed value is ignored, as a header the service cannot read. `false` ignores
   * the header.
   */
  deadline?: DeadlineOptions | false
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
    upstreamContext(): UpstreamCallContext
  }
}

/** Private: the keys of {@link UserEventsPluginOptions}; any other is a mistake, caught at `register`. */
const PLUGIN_OPTIONS = ['client', 'aggregator', 'errorHandler', 'deadline']
/**
 * Private: Fastify's own `register` options. Fastify hands the plugin the same object it read
 * them from (fastify-plugin only makes it ignore them), so they must pass the unknown-key check.
 */
const REGISTER_OPTIONS = ['prefix', 'logLevel', 'logSerializers']
/** Private: the keys of {@link ErrorHandlerOptions}. */
const ERROR_HANDLER_OPTIONS = ['format', 'notFound', 'rejectionLogIntervalMs']
/** Private: the keys of {@link DeadlineOptions}. */
const DEADLINE_OPTIONS = ['header', 'minDeadlineMs']

const kContext = Symbol('userevents.upstreamContext')
const kDeadline = Symbol('userevents.deadlineAt')

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
  fastify.decorateReply(kDeadline, 0)
  fastify.decorateReply('upstreamContext', function upstreamContext(this: FastifyReply) {
    const self = this as FastifyReply & {
      [kContext]: UpstreamCallContext | null
      [kDeadline]: number
    }
    let context = self[kContext]
    if (context === null) {
      const base = { requestId: this.request.id, signal: callerGoneSignal(this.raw) }
      const deadlineAt = self[kDeadline]
      context =
        deadlineAt === 0
          ? base
          : Object.defineProperty(base, 'deadlineMs', {
              // A getter: each upstream call reads it as it starts, so a second call of the same
              // request gets less time than the first, as the caller's clock says.
              get: () => Math.max(1, Math.min(deadlineAt - performance.now(), client.deadlineMs)),
              enumerable: true,
            })
      self[kContext] = context
    }
    return context
  })

  if (opts.deadline !== false) {
    const { header, minDeadlineMs } = opts.deadline
    // Takes `done` rather than being async: an async hook costs every request a promise and a
    // microtask turn (and, with an OpenTelemetry SDK on Node 20/22, a context copy) for work
    // that is synchronous.
    fastify.addHook('onRequest', (request, reply, done) => {
      const raw = request.headers[header]
      if (typeof raw !== 'string' || !/^\s*\d{1,10}\s*$/.test(raw)) return done()
      const remainingMs = Number(raw)
      if (remainingMs < minDeadlineMs) {
        return done(new DeadlineExceededError(header, remainingMs, minDeadlineMs))
      }
      ;(reply as FastifyReply & { [kDeadline]: number })[kDeadline] =
        performance.now() + remainingMs
      done()
    })
  }

  if (opts.errorHandler !== false) {
    const { rejectionLogIntervalMs = 10_000, ...problemOptions }: ErrorHandlerOptions =
      opts.errorHandler === true ? {} : opts.errorHandler
    const { notFound, ...formatOptions } = problemOptions
    // Recorded on the instance so that frameworkErrorHandler(), built before register() as a
    // constructor option, answers in the same format without being told twice.
    fastify.decorate(kErrorFormat, formatOptions.format ?? 'json')
    const rejections = new RejectionLog(fastify.log, rejectionLogIntervalMs)
    fastify.addHook('onClose', async () => rejections.close())
    if (notFound ?? formatOptions.format === 'problem+json') {
      fastify.setNotFoundHandler((request, reply) => {
        const path = request.url.split('?')[0] ?? request.url
        const error = Object.assign(new Error(`Route ${request.method}:${path} not found`), {
          statusCode: 404,
          code: 'FST_ERR_NOT_FOUND',
        })
        const problem = toHttpProblem(error, formatOptions)
        request.log[problem.logLevel]({ statusCode: 404, reason: error.message }, 'route not found')
        return reply.code(404).headers(problem.headers).send(problem.body)
      })
    }
    fastify.setErrorHandler((error: FastifyError, request, reply) => {
      const problem = toHttpProblem(error, formatOptions)
      if (problem.upstreamMessage !== undefined) {
        // The upstream's own words, kept out of the answer, still help whoever debugs the call.
        request.log.debug({ upstreamMessage: problem.upstreamMessage }, 'upstream error text')
      }
      if (RejectionLog.applies(problem)) {
        rejections.record(request.log, problem, error.message)
      } else {
        const fields = problem.logStack
          ? { err: error, statusCode: problem.statusCode }
          : { code: problem.body.code, statusCode: problem.statusCode, reason: error.message }
        request.log[problem.logLevel](fields, 'request failed')
      }
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
  checks.rejectUnknown('', options, [...PLUGIN_OPTIONS, ...REGISTER_OPTIONS])
  const { client, aggregator, errorHandler = true, deadline = {} } = options
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
        "a boolean or { format: 'json' | 'problem+json', notFound?: boolean }",
        errorHandler,
      )
    }
    checks.rejectUnknown('errorHandler.', errorHandler, ERROR_HANDLER_OPTIONS)
    checks.timerMs(
      'errorHandler.rejectionLogIntervalMs',
      errorHandler.rejectionLogIntervalMs,
      10_000,
    )
    const { notFound } = errorHandler as ErrorHandlerOptions
    if (notFound !== undefined && typeof notFound !== 'boolean') {
      throw new InvalidPluginOptionError('errorHandler.notFound', 'a boolean', notFound)
    }
  }
  return {
    client,
    aggregator: aggregator ?? {},
    errorHandler,
    deadline: validateDeadline(deadline),
  }
}

/** Private: checks `deadline`, filling in its defaults. */
function validateDeadline(
  deadline: DeadlineOptions | false,
): { header: string; minDeadlineMs: number } | false {
  if (deadline === false) return false
  if (typeof deadline !== 'object' || deadline === null) {
    throw new InvalidPluginOptionError('deadline', 'an object or false', deadline)
  }
  checks.rejectUnknown('deadline.', deadline, DEADLINE_OPTIONS)
  const header = checks.headerName('deadline.header', deadline.header, 'x-request-timeout-ms')
  const minDeadlineMs = checks.nonNegativeNumber(
    'deadline.minDeadlineMs',
    deadline.minDeadlineMs,
    10,
  )
  return { header: header.toLowerCase(), minDeadlineMs }
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
