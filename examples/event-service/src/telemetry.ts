/**
 * OpenTelemetry for the service: the Node SDK, server spans (server-spans.ts, or `@fastify/otel`
 * with `OTEL_FASTIFY_HOOK_SPANS=true`), trace ids on log lines and the SDK's metrics on the
 * service's own `/metrics`.
 *
 * On unless `OTEL_SDK_DISABLED=true` (the SDK's own switch). Then nothing here is loaded: no SDK,
 * no server span, no log mixin, and the upstream client finds no provider and subscribes to
 * nothing, so the request path is exactly what it is without OpenTelemetry.
 *
 * - **Traces.** Spans are always created (so an incoming `traceparent` continues to the upstream
 *   and log lines carry ids), but only exported over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT`
 *   (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set; the sampler follows `OTEL_TRACES_SAMPLER`
 *   (default: parent-based, always on).
 * - **Metrics.** The Prometheus exporter without its own server (`preventServerStart`): the
 *   service's `/metrics` appends its text to prom-client's, so one scrape gets both. prom-client
 *   stays for the service's own series (and for `OTEL_SDK_DISABLED=true`); the SDK adds the
 *   semantic-convention client histogram `http_client_request_duration_seconds` and the client's
 *   `userevents_client_*` series. With an OTLP endpoint, metrics are pushed there too.
 * - **Resource.** Only the service name and `OTEL_RESOURCE_ATTRIBUTES`: no host, process or OS
 *   detector, so neither `/metrics` (`target_info`) nor an export carries the command line, file
 *   paths, the process owner or the host name.
 * - **Propagation.** The SDK's default: W3C `traceparent`/`tracestate` and baggage
 *   (`OTEL_PROPAGATORS` changes it).
 *
 * It must start before the upstream client is created: the client looks for the providers once,
 * when it is created.
 */
import type { FastifyInstance } from 'fastify'

/** The running SDK, as the service uses it. */
export interface Telemetry {
  /**
   * Adds a SERVER span per request (honouring an incoming `traceparent`) to every route the app
   * registers after this call; the probes and `/metrics` are not traced. Call it first.
   */
  instrument(app: FastifyInstance): Promise<void>
  /** The SDK's metrics in the Prometheus text format (appended to `/metrics`). */
  renderMetrics(): Promise<string>
  /** `trace_id`, `span_id` and `trace_flags` of the active span, for pino's `mixin`. */
  logFields(): Record<string, string>
  /** Flushes and stops the SDK (exporters, readers). */
  shutdown(): Promise<void>
}

/** What {@link startTelemetry} reads from the environment. */
export interface TelemetryEnv {
  OTEL_SDK_DISABLED?: string
  OTEL_EXPORTER_OTLP_ENDPOINT?: string
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string
  OTEL_EXPORTER_OTLP_METRICS_ENDPOINT?: string
  OTEL_SERVICE_NAME?: string
  /**
   * `true`: `@fastify/otel`'s spans instead of the service's lean ones: a child span per hook and
   * one for the handler (costly: see server-spans.ts). Probes and `/metrics` stay untraced.
   */
  OTEL_FASTIFY_HOOK_SPANS?: string
}

/**
 * Starts the OpenTelemetry Node SDK, or returns `undefined` when `OTEL_SDK_DISABLED` is `true`.
 * The SDK modules are imported only here, so a disabled SDK costs no start-up time either.
 */
export async function startTelemetry(env: TelemetryEnv): Promise<Telemetry | undefined> {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined
  const [{ NodeSDK, resources }, { PrometheusExporter, PrometheusSerializer }, traceBase, api] =
    await Promise.all([
      import('@opentelemetry/sdk-node'),
      import('@opentelemetry/exporter-prometheus'),
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/api'),
    ])
  const prometheus = new PrometheusExporter({ preventServerStart: true })
  const serializer = new PrometheusSerializer()
  const metricReaders: import('@opentelemetry/sdk-metrics').IMetricReader[] = [prometheus]
  const tracesEndpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT
  const metricsEndpoint = env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT
  // Without an endpoint the tracer provider still gets a (no-op) processor: NodeSDK registers
  // no provider without one, and then no span, no propagated trace context, no ids in logs.
  let spanProcessor: import('@opentelemetry/sdk-trace-base').SpanProcessor =
    new traceBase.NoopSpanProcessor()
  if (tracesEndpoint) {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http')
    spanProcessor = new traceBase.BatchSpanProcessor(new OTLPTraceExporter())
  }
  if (metricsEndpoint) {
    const [{ OTLPMetricExporter }, { PeriodicExportingMetricReader }] = await Promise.all([
      import('@opentelemetry/exporter-metrics-otlp-http'),
      import('@opentelemetry/sdk-metrics'),
    ])
    metricReaders.push(new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter() }))
  }
  const hookSpans = /^(1|true|yes|on)$/i.test(env.OTEL_FASTIFY_HOOK_SPANS?.trim() ?? '')
  const { UNTRACED_ROUTES, installServerSpans } = await import('./server-spans.js')
  let fastifyOtel: { plugin(): import('fastify').FastifyPluginCallback } | undefined
  if (hookSpans) {
    const mod = await import('@fastify/otel')
    const FastifyOtelInstrumentation = mod.default ?? mod
    fastifyOtel = new FastifyOtelInstrumentation({
      ignorePaths: (route: { url: string }) =>
        UNTRACED_ROUTES.includes(route.url.split('?')[0] ?? ''),
    })
  }
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME ?? 'event-service',
    spanProcessors: [spanProcessor],
    metricReaders,
    // No log export: pino writes the log lines, with the trace ids added by `logFields`.
    logRecordProcessors: [],
    instrumentations: fastifyOtel === undefined ? [] : [fastifyOtel as never],
    // Only what the operator sets (OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME). The SDK's
    // default detectors add the process's command line, executable path and owner and the host
    // name to every export, and the Prometheus exporter serves them as `target_info` on /metrics:
    // a command line can carry secrets, and paths and host names tell an attacker about the host.
    resourceDetectors: [resources.envDetector],
  })
  sdk.start()
  const tracer = api.trace.getTracer('event-service')
  return {
    async instrument(app) {
      if (fastifyOtel !== undefined) await app.register(fastifyOtel.plugin())
      else installServerSpans(app, { tracer })
    },
    async renderMetrics() {
      const { resourceMetrics } = await prometheus.collect()
      return serializer.serialize(withUnitSuffixes(resourceMetrics))
    },
    logFields(): Record<string, string> {
      const span = api.trace.getSpan(api.context.active())
      if (span === undefined) return {}
      const { traceId, spanId, traceFlags } = span.spanContext()
      return {
        trace_id: traceId,
        span_id: spanId,
        trace_flags: `0${traceFlags.toString(16)}`,
      }
    },
    shutdown: () => sdk.shutdown(),
  }
}

/** Private: Prometheus name suffixes of the units the SDK's instruments use. */
const UNIT_SUFFIXES: Readonly<Record<string, string>> = {
  s: 'seconds',
  ms: 'milliseconds',
  By: 'bytes',
}

/**
 * Private: appends the unit to each metric name, as the OpenTelemetry-to-Prometheus
 * compatibility rules ask (`http.client.request.duration` in `s` is scraped as
 * `http_client_request_duration_seconds`, the name dashboards query) and as this version of the
 * Prometheus exporter does not. Only the exposition changes; OTLP export keeps the OTel names.
 */
function withUnitSuffixes(
  resourceMetrics: import('@opentelemetry/sdk-metrics').ResourceMetrics,
): import('@opentelemetry/sdk-metrics').ResourceMetrics {
  return {
    ...resourceMetrics,
    scopeMetrics: resourceMetrics.scopeMetrics.map((scope) => ({
      ...scope,
      metrics: scope.metrics.map((metric) => {
        const suffix = UNIT_SUFFIXES[metric.descriptor.unit]
        const name = metric.descriptor.name
        if (suffix === undefined || name.endsWith(`_${suffix}`)) return metric
        return { ...metric, descriptor: { ...metric.descriptor, name: `${name}_${suffix}` } }
      }),
    })),
  }
}
