import { createMockUpstream, type MockUpstream } from '@userevents/mock-server'
import { createRedisBreakerStore, createRedisConnection, createRedisStore } from '@userevents/redis'
import type { UpstreamClient } from '@userevents/upstream-client'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify'
import { buildApp } from './app.js'
import type { ServiceConfig } from './config.js'
import { createMetrics, type ServiceMetrics } from './metrics.js'
import { registerMetricsRoute } from './routes/ops.js'
import type { Telemetry } from './telemetry.js'

/** Options of {@link createService}. */
export interface ServiceOptions {
  /** Root pino logger for the service, the client and the embedded mock's log lines. */
  logger: FastifyBaseLogger
  /**
   * The embedded mock upstream to start when `config.upstreamBase` is unset. Default: the
   * original behaviour, `createMockUpstream()` (flapping mode, 500 ms event reads). The demo
   * passes its own instance to read its counters and store.
   */
  mock?: MockUpstream
  /** Collect Node's default process metrics. Default true; tests turn it off. */
  defaultMetrics?: boolean
  /**
   * The OpenTelemetry SDK started by `startTelemetry` (before this call: the upstream client
   * looks for its providers when it is created), or `undefined` when it is off.
   */
  telemetry?: Telemetry
}

/** A composed, not yet listening service. */
export interface Service {
  app: FastifyInstance
  client: UpstreamClient
  metrics: ServiceMetrics
  /** The upstream origin in use (the embedded mock's URL when it was started). */
  upstreamUrl: string
  /** The embedded mock, when `UPSTREAM_BASE` was unset. */
  mock: MockUpstream | undefined
  /**
   * Base URL of the metrics listener (`METRICS_PORT`), once `listen()` resolved; `undefined` when
   * `/metrics` is a route of the main port.
   */
  metricsUrl: string | undefined
  /**
   * Listens on `config.host:config.port` (and on `METRICS_HOST:METRICS_PORT` when set); resolves
   * with the service's base URL.
   */
  listen(): Promise<string>
  /**
   * Graceful stop: stops accepting, lets in-flight requests finish, then closes the upstream
   * client's pools (the plugin's `onClose`) and the embedded mock, i.e. after the drain.
   */
  close(): Promise<void>
}

/**
 * Composes the service: (embedded mock upstream) -> upstream client with timeouts, retries,
 * breaker and cache -> event aggregator -> metrics fed from the client's hooks -> Fastify app.
 *
 * @example
 * ```ts
 * const service = await createService(loadConfig(process.env), { logger })
 * const url = await service.listen()
 * ```
 */
export async function createService(
  config: ServiceConfig,
  options: ServiceOptions,
): Promise<Service> {
  const { logger } = options
  let mock: MockUpstream | undefined
  let closeMock: (() => Promise<void>) | undefined
  let upstreamUrl = config.upstreamBase
  if (upstreamUrl === undefined) {
    mock = options.mock ?? createMockUpstream({ mode: 'flapping' })
    const handle = await mock.listen({ host: '127.0.0.1', port: 0 })
    upstreamUrl = handle.url
    closeMock = () => handle.close()
    logger.info(
      { upstream: upstreamUrl, mode: mock.mode },
      'UPSTREAM_BASE is not set: started the embedded mock upstream',
    )
  }

  // Caches split by how data changes: events are immutable once written, so the aggregator
  // keeps them for CACHE_TTL_MS; users (whose event lists grow) for LIST_CACHE_TTL_MS, also in
  // the aggregator (one cache per value: its reads skip the client's); the list routes go
  // through the client's short GET cache. Each coalesces identical in-flight reads and serves
  // stale entries while the upstream is down.
  const metrics = createMetrics({ defaultMetrics: options.defaultMetrics ?? true })
  // Fleet mode (REDIS_URL or REDIS_CLUSTER_NODES): one Redis tier shared by every replica behind both caches, and the
  // fleet circuit of each upstream operation in front of this replica's own breakers. When Redis
  // is down or slow the replica serves from its local caches and breakers, exactly as without
  // REDIS_URL.
  // REDIS_CLUSTER_NODES: the same on a Redis Cluster (keys hash-tagged per key and per circuit).
  const redisTarget =
    config.redisClusterNodes !== undefined
      ? { cluster: config.redisClusterNodes }
      : config.redisUrl !== undefined
        ? { url: config.redisUrl }
        : undefined
  const redis =
    redisTarget === undefined
      ? undefined
      : createRedisConnection({
          ...redisTarget,
          commandTimeoutMs: config.redisCommandTimeoutMs,
          logger,
        })
  const store =
    redis === undefined
      ? undefined
      : createRedisStore({ connection: redis, namespace: 'event-service' })
  const breakerStore =
    redis === undefined
      ? undefined
      : createRedisBreakerStore({
          connection: redis,
          namespace: 'event-service',
          quorum: config.fleetQuorum,
        })
  const untrackFleet = redis === undefined ? undefined : metrics.trackFleet(redis)
  const app = await buildApp({
    config,
    logger,
    metrics,
    telemetry: options.telemetry,
    redis,
    client: {
      baseUrl: upstreamUrl,
      name: 'events',
      logger,
      connections: config.upstream.connections,
      timeoutMs: config.upstream.timeoutMs,
      deadlineMs: config.upstream.deadlineMs,
      retry: config.upstream.retries > 0 ? { retries: config.upstream.retries } : false,
      breaker: {
        failureThreshold: config.breaker.failureThreshold,
        windowMs: config.breaker.windowMs,
        resetTimeoutMs: config.breaker.resetTimeoutMs,
        ...(breakerStore !== undefined ? { store: breakerStore } : {}),
      },
      cache:
        config.listCacheTtlMs > 0
          ? { ttlMs: config.listCacheTtlMs, max: 5_000, staleIfError: true }
          : false,
      ...(store !== undefined && config.listCacheTtlMs > 0 ? { store } : {}),
    },
    aggregator: {
      concurrency: config.aggregatorConcurrency,
      cache: config.cacheTtlMs > 0 ? { ttlMs: config.cacheTtlMs, max: 50_000 } : false,
      // Users' event lists grow, so they are kept only LIST_CACHE_TTL_MS. The aggregator's reads
      // skip the client's GET cache for what it keeps itself, so the TTLs never add up.
      userCache: config.listCacheTtlMs > 0 ? { ttlMs: config.listCacheTtlMs, max: 5_000 } : false,
      batch: config.upstream.batch ? { path: '/getEventsByIds', maxIds: 100 } : false,
      maxLimit: config.pageMaxLimit,
      // The usual 50, unless the operator capped pages below it.
      defaultLimit: Math.min(50, config.pageMaxLimit),
      staleIfError: true,
      ...(store !== undefined && config.cacheTtlMs > 0 ? { store } : {}),
    },
  })
  const metricsApp =
    config.metricsPort === undefined
      ? undefined
      : createMetricsApp(logger, { metrics, telemetry: options.telemetry })
  // The plugin closes the client in its own onClose, after Fastify drained in-flight requests;
  // the embedded mock is closed after that.
  if (closeMock !== undefined) app.addHook('onClose', closeMock)
  if (metricsApp !== undefined) app.addHook('onClose', () => metricsApp.close())
  if (redis !== undefined) {
    app.addHook('onClose', async () => {
      untrackFleet?.()
      breakerStore?.close()
      await store?.close()
      await redis.close()
    })
  }

  const service: Service = {
    app,
    client: app.upstream,
    metrics,
    upstreamUrl,
    mock,
    async listen() {
      const url = await app.listen({ port: config.port, host: config.host })
      if (metricsApp !== undefined) {
        service.metricsUrl = await metricsApp.listen({
          port: config.metricsPort,
          host: config.metricsHost,
        })
      }
      return url
    },
    metricsUrl: undefined,
    close: () => app.close(),
  }
  return service
}

/**
 * Private: the listener of `METRICS_PORT`: `/metrics` only, no access log (a scrape every few
 * seconds is not traffic), so a deployment can bind it to a private interface.
 */
function createMetricsApp(
  logger: FastifyBaseLogger,
  deps: Parameters<typeof registerMetricsRoute>[1],
): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
  })
  registerMetricsRoute(app, deps)
  return app
}
