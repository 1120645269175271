import { isUtf8 } from 'node:buffer'
import { frameworkErrorHandler, userEvents } from '@userevents/fastify'
import Fastify, { type FastifyInstance, LogController } from 'fastify'
import type { AppDeps } from './app-deps.js'
import { genRequestId, REQUEST_ID_HEADER } from './request-context.js'
import { registerEventRoutes } from './routes/events.js'
import { registerOpsRoutes } from './routes/ops.js'
import { createValidatorCompiler, formatValidationError } from './validation.js'

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
    // Validation errors keep Fastify's shape (400, `validation`), with a message naming the value;
    // the plugin's error handler answers them as 400 INVALID_INPUT.
    schemaErrorFormatter: formatValidationError,
    // Fastify refuses an undecodable path (`/users/%`) or an over-long id before routing, where no
    // hook runs: this answers them like every other error, with the request id.
    frameworkErrors: frameworkErrorHandler({ requestIdHeader: REQUEST_ID_HEADER }),
    // Fastify >= 5.10's logController (the top-level `disableRequestLogging` and
    // `requestIdLogLabel` options are deprecated, FSTDEP023). One access line per request (written
    // in onResponse below) instead of Fastify's two: the "incoming request" line repeats what the
    // completed line says, and log writes were the largest single cost of a cached answer in the
    // CPU profile. The request id is bound as `requestId`, the field the upstream client logs, so
    // one query finds both sides of a request.
    logController: new LogController({
      disableRequestLogging: true,
      requestIdLogLabel: 'requestId',
    }),
    return503OnClosing: true,
  })

  // First, and awaited, so that its onRoute hook sees every route: a SERVER span per request,
  // continuing an incoming `traceparent`, active while the handler (and its upstream calls) runs.
  if (deps.telemetry !== undefined) await deps.telemetry.instrument(app)

  app.setValidatorCompiler(createValidatorCompiler())

  // Fastify's JSON parser decodes invalid UTF-8 into U+FFFD and stores the result; a body that is
  // not UTF-8 is not JSON (RFC 8259 §8.1), so it answers 400 instead. Same parser otherwise.
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    if (!isUtf8(body as Buffer)) {
      done(
        Object.assign(new Error('body is not valid UTF-8'), {
          statusCode: 400,
          code: 'INVALID_INPUT',
        }),
        undefined,
      )
      return
    }
    parseJson(request, (body as Buffer).toString('utf8'), done)
  })

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

  // The per-request hooks below take `done` rather than being async: an async hook costs a
  // promise and a microtask turn per request, for work that is synchronous.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id)
    done()
  })

  // During a graceful close Fastify answers new requests 503, but the keep-alive connection of a
  // request still in flight stays open after its answer, and server.close() then waits for the
  // keep-alive timeout (72 s). `Connection: close` makes that socket end with its answer.
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close')
    done(null, payload)
  })

  app.addHook('onResponse', (request, reply, done) => {
    const durationMs = reply.elapsedTime
    metrics.observeRequest({
      method: request.method,
      // The route pattern keeps label cardinality bounded; unmatched URLs share one label.
      route: request.routeOptions.url ?? 'unmatched',
      statusCode: reply.statusCode,
      durationMs,
    })
    request.log.info(
      {
        req: { method: request.method, url: request.url },
        res: { statusCode: reply.statusCode },
        responseTime: durationMs,
      },
      'request completed',
    )
    done()
  })

  registerEventRoutes(app, deps)
  registerOpsRoutes(app, deps)
  return app
}
