import type { FastifyInstance } from 'fastify'
import type { AppDeps } from '../app-deps.js'
import { emptyQuerySchema } from '../schemas.js'

const healthResponse = {
  200: { type: 'object', required: ['status'], properties: { status: { type: 'string' } } },
} as const

/**
 * Private: `/healthz`'s answer, serialized once. Liveness is polled by every probe and load
 * balancer: a synchronous handler sending constant bytes costs no promise and no serializer run
 * per request (the schema stays, for the documentation and the validation of its query).
 */
const HEALTHY = JSON.stringify({ status: 'ok' })
const JSON_TYPE = 'application/json; charset=utf-8'

const readyResponse = {
  200: {
    type: 'object',
    required: ['status', 'upstream'],
    properties: {
      status: { type: 'string' },
      upstream: {
        type: 'object',
        required: ['name', 'circuit'],
        properties: { name: { type: 'string' }, circuit: { type: 'string' } },
      },
      redis: { type: 'object', required: ['mode'], properties: { mode: { type: 'string' } } },
    },
  },
} as const

/**
 * Registers `/healthz` (liveness), `/readyz` (readiness, with the upstream circuit state) and
 * `/metrics` (Prometheus text format).
 */
export function registerOpsRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { redis } = deps

  app.get(
    '/healthz',
    { schema: { querystring: emptyQuerySchema, response: healthResponse } },
    (_request, reply) => {
      reply.type(JSON_TYPE).send(HEALTHY)
    },
  )

  // Readiness reports the circuit but stays 200 while it is open: the circuit is per upstream,
  // so every replica would go unready together and a partial outage would become a total one.
  // Callers are already shed fast with 503 + Retry-After. During a graceful shutdown Fastify
  // answers 503 here (return503OnClosing), which is what takes the instance out of rotation.
  app.get(
    '/readyz',
    { schema: { querystring: emptyQuerySchema, response: readyResponse } },
    // Fleet mode with Redis away is degraded, never down: the replica serves from local state.
    async () => ({
      status:
        app.upstream.circuitState === 'closed' && (redis === undefined || redis.mode === 'fleet')
          ? 'ready'
          : 'degraded',
      upstream: { name: app.upstream.name, circuit: app.upstream.circuitState },
      ...(redis === undefined ? {} : { redis: { mode: redis.mode } }),
    }),
  )

  // With METRICS_PORT the scrape is served by its own listener (see service.ts), not here.
  if (deps.config.metricsPort === undefined) registerMetricsRoute(app, deps)
}

/**
 * Registers `/metrics` (Prometheus text format): prom-client's series, then the OpenTelemetry
 * SDK's (semantic-convention client histogram, `userevents_client_*`) when it runs: one scrape,
 * one text exposition. On the main app, or on the metrics listener of `METRICS_PORT`.
 */
export function registerMetricsRoute(
  app: FastifyInstance,
  deps: Pick<AppDeps, 'metrics' | 'telemetry'>,
): void {
  const { metrics, telemetry } = deps
  app.get('/metrics', { schema: { querystring: emptyQuerySchema } }, async (_request, reply) => {
    reply.type(metrics.contentType)
    const own = await metrics.render()
    return telemetry === undefined ? own : `${own}\n${await telemetry.renderMetrics()}`
  })
}
