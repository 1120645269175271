import type { EventAggregatorOptions } from '@userevents/event-aggregator'
import { userEvents } from '@userevents/fastify'
import type { RedisConnection } from '@userevents/redis'
import type { UpstreamClientOptions } from '@userevents/upstream-client'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { ServiceConfig } from './config.js'
import type { ServiceMetrics } from './metrics.js'
import { genRequestId, REQUEST_ID_HEADER } from './request-context.js'
import { registerEventRoutes } from './routes/events.js'
import { registerOpsRoutes } from './routes/ops.js'
import type { Telemetry } from './telemetry.js'
import { createValidatorCompiler, formatValidationError } from './validation.js'

/** Everything {@link buildApp} wires together. */
export interface AppDeps {
  config: Pick<ServiceConfig, 'bodyLimitBytes' | 'pageMaxLimit'>
  /** Options of the upstream client; `@userevents/fastify` creates it and closes it in `onClose`. */
  client: UpstreamClientOptions
  /** Options of the event aggregator, created over that client. */
  aggregator: Omit<EventAggregatorOptions, 'client'>
  metrics: ServiceMetrics
  /** Root pino logger; Fastify derives one child per request from it. */
  logger: FastifyBaseLogger
  /** OpenTelemetry: server spans and the SDK's metrics on `/metrics`; `undefined` when off. */
  telemetry?: Telemetry | undefined
  /** The Redis connection of fleet mode (`REDIS_URL`), reported by `/readyz` and `/metrics`. */
  redis?: Pick<RedisConnection, 'mode'> | undefined
}

/**
 * Builds the Fastify app on `@userevents/fastify` (client, aggregator, caller-gone signals,
 * paged routes, error mapping): JSON-Schema validation on every route (the body without type
 * coercion) with messages naming the bad value, request ids in and out, and per-route request
 * metrics. It does not listen: the caller ({@link createService}) decides that.
 *
 * @example
 * ```ts
 * const app = await buildApp({ config, client: { baseUrl }, aggregator: {}, metrics, logger })
 * const res = await app.inject({ method: 'GET', url: '/getEventsByUserId/1?limit=10' })
 * ```
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, metrics } = deps
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: config.bodyLimitBytes,
    genReqId: genRequestId,
    // genReqId reads and validates the header itself; Fastify's own lookup would trust it blindly.
    requestIdHeader: false,
    // Renames Fastify's `reqId` binding to `requestId`, the field the upstream client logs, so one
    // query finds both sides of a request. (The `requestIdLogLabel` option does the same but is
    // deprecated in Fastify 5 in favour of `logController`, which needs fastify >= 5.10.)
    childLoggerFactory(logger, bindings, options) {
      const { reqId, ...rest } = bindings as { reqId?: unknown }
      return logger.child(reqId === undefined ? rest : { ...rest, requestId: reqId }, options)
    },
    // Validation errors keep Fastify's shape (400, `validation`), with a message naming the value;
    // the plugin's error handler answers them as 400 INVALID_INPUT.
    schemaErrorFormatter: formatValidationError,
    return503OnClosing: true,
  })

  // First, and awaited, so that its onRoute hook sees every route: a SERVER span per request,
  // continuing an incoming `traceparent`, active while the handler (and its upstream calls) runs.
  if (deps.telemetry !== undefined) await app.register(deps.telemetry.fastifyPlugin)

  app.setValidatorCompiler(createValidatorCompiler())

  // Creates the client (with the service's logger) and the aggregator, closes the client in
  // onClose after the drain, and installs the error handler (toHttpProblem).
  await app.register(userEvents, { client: deps.client, aggregator: deps.aggregator })
  const untrack = metrics.trackClient(app.upstream)
  app.addHook('onClose', async () => untrack())

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({
      error: 'Not Found',
      message: `Route ${request.method} ${request.url.split('?')[0]} not found`,
    })
  })

  app.addHook('onRequest', async (request, reply) => {
    reply.header(REQUEST_ID_HEADER, request.id)
  })

  // During a graceful close Fastify answers new requests 503, but the keep-alive connection of a
  // request still in flight stays open after its answer, and server.close() then waits for the
  // keep-alive timeout (72 s). `Connection: close` makes that socket end with its answer.
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close')
    return payload
  })

  app.addHook('onResponse', async (request, reply) => {
    metrics.observeRequest({
      method: request.method,
      // The route pattern keeps label cardinality bounded; unmatched URLs share one label.
      route: request.routeOptions.url ?? 'unmatched',
      statusCode: reply.statusCode,
      durationMs: reply.elapsedTime,
    })
  })

  registerEventRoutes(app, deps)
  registerOpsRoutes(app, deps)
  return app
}
