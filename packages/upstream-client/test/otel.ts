import { context, metrics, propagation, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import {
  type DataPoint,
  MeterProvider,
  type MetricData,
  MetricReader,
} from '@opentelemetry/sdk-metrics'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'

/** A metric reader a test collects from on demand. */
export class TestMetricReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve()
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve()
  }
}

/** An OpenTelemetry SDK registered globally, with in-memory span and metric exporters. */
export interface TestSdk {
  spans: InMemorySpanExporter
  reader: TestMetricReader
  tracerProvider: BasicTracerProvider
  meterProvider: MeterProvider
  /** Every metric collected now, by name. */
  collect(): Promise<Map<string, MetricData>>
  /** Unregisters the globals and shuts the providers down. */
  shutdown(): Promise<void>
}

/**
 * Registers a tracer provider (in-memory exporter, simple processor), a meter provider (manual
 * reader), the AsyncLocalStorage context manager and the W3C trace-context propagator, as
 * `@opentelemetry/sdk-node` would. `parts` chooses which of them to register.
 */
export function startTestSdk(parts: { traces?: boolean; metrics?: boolean } = {}): TestSdk {
  const spans = new InMemorySpanExporter()
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(spans)],
  })
  const reader = new TestMetricReader()
  const meterProvider = new MeterProvider({ readers: [reader] })
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  if (parts.traces !== false) trace.setGlobalTracerProvider(tracerProvider)
  if (parts.metrics !== false) metrics.setGlobalMeterProvider(meterProvider)
  return {
    spans,
    reader,
    tracerProvider,
    meterProvider,
    async collect() {
      const { resourceMetrics } = await reader.collect()
      const byName = new Map<string, MetricData>()
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const m of scope.metrics) byName.set(m.descriptor.name, m)
      }
      return byName
    },
    async shutdown() {
      trace.disable()
      metrics.disable()
      context.disable()
      propagation.disable()
      await tracerProvider.shutdown()
      await meterProvider.shutdown()
    },
  }
}

/** The data points of a metric whose attributes include `match`. */
export function pointsOf(
  metric: MetricData | undefined,
  match: Record<string, unknown> = {},
): DataPoint<unknown>[] {
  if (metric === undefined) return []
  return (metric.dataPoints as DataPoint<unknown>[]).filter((p) =>
    Object.entries(match).every(([k, v]) => p.attributes[k] === v),
  )
}

/** The sum of the values of the matching points of a counter or gauge. */
export function sumOf(metric: MetricData | undefined, match: Record<string, unknown> = {}): number {
  return pointsOf(metric, match).reduce((total, p) => total + (p.value as number), 0)
}

/** The span with this name; fails the test when there is not exactly one. */
export function only(spans: ReadableSpan[], name: string): ReadableSpan {
  const found = spans.filter((s) => s.name === name)
  if (found.length !== 1) {
    throw new Error(`Expected one span ${name}, got ${found.length}: ${spans.map((s) => s.name)}`)
  }
  return found[0] as ReadableSpan
}

/** The parent span id of a finished span (SDK 2 keeps it in `parentSpanContext`). */
export function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId
}
