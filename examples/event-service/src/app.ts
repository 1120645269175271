import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
} from 'fastify'
import type { ServiceConfig } from './config.js'
import { mapError } from './errors/mapError.js'
import type { ServiceMetrics } from './metrics.js'
import type { ServiceAggregator, ServiceUpstream } from './ports.js'
import { genRequestId, REQUEST_ID_HEADER } from './request-context.js'
import { registerEventRoutes } from './routes/events.js'
import { registerOpsRoutes } from './routes/ops.js'
import type { Telemetry } from './telemetry.js'
import { createValidatorCompiler, describeValidationError } from './validation.js'

/** Everything {@link buildApp} wires together. */
export interface AppDeps {
  config: Pick<ServiceConfig, 'bodyLimitBytes' | 'pageMaxLimit'>
  /** Upstream client; its requests carry each request's id as `x-request-id`. */
  client: ServiceUpstream
  aggregator: ServiceAggregator
  metrics: ServiceMetrics
  /** Root pino logger; Fastify derives one child per request from it. */
  logger: FastifyBaseLogger
  /** OpenTelemetry: server spans and the SDK's metrics on `/metrics`; `undefined` when off. */
  telemetry?: Telemetry | undefined
}

/**
 * Builds the Fastify app: JSON-Schema validation on every route (the body without type
 * coercion), response serialization through schemas, request ids in and out, error mapping that
 * never turns an upstream condition into a 500, and per-route request metrics. It does not listen
 * and does not own the client: the caller ({@link createService}) decides both.
 *
 * @example
 * ```ts
 * const app = buildApp({ config, client, aggregator, metrics, logger })
 * const res = await app.inject({ method: 'GET', url: '/getEventsByUserId/1?limit=10' })
 * ```
 */
export function buildApp(deps: AppDeps): FastifyInstance {
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
    return503OnClosing: true,
  })

  // First, so that its onRoute hook sees every route: a SERVER span per request, continuing an
  // incoming `traceparent`, active while the handler (and its upstream calls) runs.
  if (deps.telemetry !== undefined) app.register(deps.telemetry.fastifyPlugin)

  app.setValidatorCompiler(createValidatorCompiler())

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.validation) {
      const part = error.validationContext ?? 'request'
      const data = requestPart(request, part)
      const message = describeValidationError(error.validation, part, data)
      return reply.code(400).send({ error: 'Bad Request', message, code: 'INVALID_INPUT' })
    }
    const problem = mapError(error)
    if (problem.statusCode >= 500) {
      const level = problem.statusCode === 500 ? 'error' : 'warn'
      request.log[level]({ err: error, statusCode: problem.statusCode }, 'request failed')
    }
    return reply.code(problem.statusCode).headers(problem.headers).send(problem.body)
  })

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

/** Private: the request's data for a validation context (`querystring` lives on `query`). */
function requestPart(request: FastifyRequest, part: string): unknown {
  switch (part) {
    case 'body':
      return request.body
    case 'querystring':
      return request.query
    case 'params':
      return request.params
    case 'headers':
      return request.headers
    default:
      return undefined
  }
}
