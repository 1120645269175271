import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

/** Circuit states as the upstream client reports them. */
export type CircuitState = 'closed' | 'open' | 'halfOpen'

/** Value of the `upstream_circuit_state` gauge for each state; higher is worse. */
export const CIRCUIT_STATE_VALUE: Readonly<Record<CircuitState, number>> = Object.freeze({
  closed: 0,
  halfOpen: 1,
  open: 2,
})

/** Phases of the breaker's post-recovery ramp, as the upstream client reports them. */
export type RampPhase = 'started' | 'widened' | 'finished' | 'aborted'

/**
 * The part of an upstream client the metrics read: its hooks and its current circuit state.
 * Structural, so any client with these hooks (or a test double of the hooks) can be tracked.
 */
export interface ObservableClient {
  readonly name: string
  readonly circuitState: CircuitState
  onResponse(
    fn: (e: { method: string; path: string; status: number; durationMs: number }) => void,
  ): () => void
  onRetry(fn: (e: { method: string; path: string; error: { code: string } }) => void): () => void
  onStateChange(fn: (e: { name: string; from: CircuitState; to: CircuitState }) => void): () => void
  onRampChange(
    fn: (e: { name: string; allowedInFlight: number; queued: number; phase: RampPhase }) => void,
  ): () => void
  onCacheHit(fn: (e: { key: string; stale: boolean }) => void): () => void
  onCacheMiss(fn: (e: { key: string }) => void): () => void
}

/** The service's Prometheus metrics, on a registry of their own. */
export interface ServiceMetrics {
  /** The registry `/metrics` serves. Own instance, so two apps in one process never clash. */
  readonly registry: Registry
  /** Counts one served HTTP request. `route` is the route pattern, never the raw URL. */
  observeRequest(e: { method: string; route: string; statusCode: number; durationMs: number }): void
  /** Subscribes to the client's hooks. Returns a function that unsubscribes them all. */
  trackClient(client: ObservableClient): () => void
  /**
   * Reports fleet mode (`REDIS_URL`) as `fleet_mode` (1 fleet, 0 local: Redis away, the replica
   * serves from local state). Returns a function that stops reporting it.
   */
  trackFleet(source: { readonly mode: 'fleet' | 'local' }): () => void
  /** The Prometheus text exposition of every metric. */
  render(): Promise<string>
  /** The `Content-Type` of {@link ServiceMetrics.render}'s output. */
  readonly contentType: string
}

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** Also collect Node's default process metrics (event loop lag, heap, ...). Default true. */
  defaultMetrics?: boolean
  /** Prefix for every metric name. Default `''`. */
  prefix?: string
}

/**
 * Creates the service's metrics:
 * - `upstream_request_duration_seconds` histogram by upstream, method, route and status;
 * - `upstream_retries_total` by upstream, method, route and error code;
 * - `upstream_circuit_state` gauge by upstream (0 closed, 1 half-open, 2 open);
 * - `upstream_circuit_transitions_total` by upstream and target state;
 * - `upstream_ramp_allowed_in_flight` gauge by upstream: calls the recovery ramp after a
 *   successful probe allows in flight (2, 4, 8, ...); `+Inf` while no ramp limits traffic;
 * - `upstream_cache_hits_total` (by `stale`) and `upstream_cache_misses_total`;
 * - `http_requests_total` and `http_request_duration_seconds` by method, route and status code;
 * - `fleet_mode` (with `REDIS_URL`): 1 while Redis is shared, 0 while the replica runs locally.
 *
 * @example
 * ```ts
 * const metrics = createMetrics()
 * const stop = metrics.trackClient(client)
 * reply.type(metrics.contentType).send(await metrics.render())
 * ```
 */
export function createMetrics(options: MetricsOptions = {}): ServiceMetrics {
  const registry = new Registry()
  const prefix = options.prefix ?? ''
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix })

  const upstreamLatency = new Histogram({
    name: `${prefix}upstream_request_duration_seconds`,
    help: 'Latency of each upstream attempt that got an HTTP response',
    labelNames: ['upstream', 'method', 'route', 'status'] as const,
    // Centred on the event API's 500 ms delay, so the histogram separates it from cache-speed calls.
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5],
    registers: [registry],
  })
  const retries = new Counter({
    name: `${prefix}upstream_retries_total`,
    help: 'Upstream attempts that were retried, by the error that caused the retry',
    labelNames: ['upstream', 'method', 'route', 'code'] as const,
    registers: [registry],
  })
  const tracked = new Map<string, ObservableClient>()
  new Gauge({
    name: `${prefix}upstream_circuit_state`,
    help: 'Circuit breaker state per upstream: 0 closed, 1 half-open, 2 open',
    labelNames: ['upstream'] as const,
    registers: [registry],
    // Read at scrape time rather than only on transitions, so the gauge is right from the start.
    collect() {
      for (const [name, client] of tracked) {
        this.set({ upstream: name }, CIRCUIT_STATE_VALUE[client.circuitState] ?? -1)
      }
    },
  })
  // Set by the ramp events; an upstream without an entry is not ramping.
  const rampAllowed = new Map<string, number>()
  new Gauge({
    name: `${prefix}upstream_ramp_allowed_in_flight`,
    help: 'Calls allowed in flight by the circuit breaker recovery ramp; +Inf when no ramp limits traffic',
    labelNames: ['upstream'] as const,
    registers: [registry],
    collect() {
      for (const name of tracked.keys()) {
        this.set({ upstream: name }, rampAllowed.get(name) ?? Number.POSITIVE_INFINITY)
      }
    },
  })
  const transitions = new Counter({
    name: `${prefix}upstream_circuit_transitions_total`,
    help: 'Circuit breaker state changes per upstream, by the state entered',
    labelNames: ['upstream', 'to'] as const,
    registers: [registry],
  })
  const cacheHits = new Counter({
    name: `${prefix}upstream_cache_hits_total`,
    help: 'Upstream GETs answered from the cache; stale="true" when served stale on error',
    labelNames: ['upstream', 'stale'] as const,
    registers: [registry],
  })
  const cacheMisses = new Counter({
    name: `${prefix}upstream_cache_misses_total`,
    help: 'Upstream GETs that missed the cache',
    labelNames: ['upstream'] as const,
    registers: [registry],
  })
  const requests = new Counter({
    name: `${prefix}http_requests_total`,
    help: 'HTTP requests served, by route pattern and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    registers: [registry],
  })
  const requestLatency = new Histogram({
    name: `${prefix}http_request_duration_seconds`,
    help: 'HTTP request latency, by route pattern and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5],
    registers: [registry],
  })

  // Per-request updates go to label children cached by their label values: prom-client would
  // otherwise validate and hash the label object on every call, on every request.
  const requestSeries = new Map<
    string,
    { count: { inc(): void }; latency: { observe(value: number): void } }
  >()
  const cacheHitSeries = new Map<string, { inc(): void }>()

  return {
    registry,
    contentType: registry.contentType,
    observeRequest({ method, route, statusCode, durationMs }) {
      const key = `${method} ${statusCode} ${route}`
      let series = requestSeries.get(key)
      if (series === undefined) {
        const labels = { method, route, status_code: String(statusCode) }
        series = { count: requests.labels(labels), latency: requestLatency.labels(labels) }
        requestSeries.set(key, series)
      }
      series.count.inc()
      series.latency.observe(durationMs / 1000)
    },
    trackFleet(source) {
      // Registered only in fleet mode: an unset gauge would read 0, i.e. "local", without Redis.
      const name = `${prefix}fleet_mode`
      new Gauge({
        name,
        help: 'Fleet mode on Redis: 1 fleet (shared cache and single-flight), 0 local (Redis away: local caches only)',
        registers: [registry],
        collect() {
          this.set(source.mode === 'fleet' ? 1 : 0)
        },
      })
      return () => registry.removeSingleMetric(name)
    },
    trackClient(client) {
      const upstream = client.name
      tracked.set(upstream, client)
      const unsubscribers = [
        client.onResponse((e) => {
          upstreamLatency.observe(
            { upstream, method: e.method, route: routeOf(e.path), status: String(e.status) },
            e.durationMs / 1000,
          )
        }),
        client.onRetry((e) => {
          retries.inc({ upstream, method: e.method, route: routeOf(e.path), code: e.error.code })
        }),
        client.onStateChange((e) => transitions.inc({ upstream, to: e.to })),
        client.onRampChange((e) => {
          // Once finished or aborted the ramp no longer limits anything (an open circuit shows
          // in upstream_circuit_state), so the gauge goes back to +Inf.
          if (e.phase === 'started' || e.phase === 'widened') {
            rampAllowed.set(upstream, e.allowedInFlight)
          } else rampAllowed.delete(upstream)
        }),
        client.onCacheHit((e) => {
          const key = `${upstream} ${e.stale}`
          let series = cacheHitSeries.get(key)
          if (series === undefined) {
            series = cacheHits.labels({ upstream, stale: String(e.stale) })
            cacheHitSeries.set(key, series)
          }
          series.inc()
        }),
        client.onCacheMiss(() => cacheMisses.inc({ upstream })),
      ]
      return () => {
        for (const unsubscribe of unsubscribers) unsubscribe()
        tracked.delete(upstream)
        rampAllowed.delete(upstream)
      }
    },
    render: () => registry.metrics(),
  }
}

/**
 * Private: reduces an upstream path to a low-cardinality route label. `/getEventById/42?x=1`
 * becomes `/getEventById`: one label value per upstream route, not one per id.
 */
function routeOf(path: string): string {
  const match = /^\/[^/?#]*/.exec(path)
  return match?.[0] ?? '/'
}
