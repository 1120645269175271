/**
 * The dependencies of the app, in their own module so that `app.ts` and the route modules both
 * import this type without importing each other (no app.ts <-> routes/*.ts cycle).
 */
import type { EventAggregatorOptions } from '@userevents/event-aggregator'
import type { RedisConnection } from '@userevents/redis'
import type { UpstreamClientOptions } from '@userevents/upstream-client'
import type { FastifyBaseLogger } from 'fastify'
import type { ServiceConfig } from './config.js'
import type { ServiceMetrics } from './metrics.js'
import type { Telemetry } from './telemetry.js'

/** Everything `buildApp` (app.ts) wires together. */
export interface AppDeps {
  config: Pick<ServiceConfig, 'bodyLimitBytes' | 'pageMaxLimit' | 'metricsPort'>
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
