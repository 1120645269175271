/**
 * One measurement of the overhead benchmark's OpenTelemetry section, in a process of its own
 * (a registered SDK cannot be unregistered cleanly, and "absent" needs a process where the API
 * cannot be resolved). Mode: `absent` (run with `--require ./bench/block-otel.cjs`), `api`
 * (API installed, no SDK) or `sdk` (tracer and meter providers with batch export to a sink,
 * the AsyncLocalStorage context manager and the W3C propagator, as `@opentelemetry/sdk-node`
 * sets up). Prints `{ mode, apiLoaded, spans, rate }` as JSON.
 */
import { createRequire } from 'node:module'
import { createUpstreamClient } from '../src/index.js'
import { callsPerSecond, InMemoryDispatcher } from './in-memory-dispatcher.js'

const mode = process.argv[2]
let exported = 0
let apiLoaded = false
try {
  createRequire(import.meta.url)('@opentelemetry/api')
  apiLoaded = true
} catch {}

if (mode === 'sdk') {
  const { context, metrics, propagation, trace } = await import('@opentelemetry/api')
  const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks')
  const { W3CTraceContextPropagator } = await import('@opentelemetry/core')
  const { BasicTracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base')
  const {
    MeterProvider,
    PeriodicExportingMetricReader,
    InMemoryMetricExporter,
    AggregationTemporality,
  } = await import('@opentelemetry/sdk-metrics')
  const sink = {
    export(spans: unknown[], done: (result: { code: number }) => void) {
      exported += spans.length
      done({ code: 0 })
    },
    shutdown: () => Promise.resolve(),
  }
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({
      spanProcessors: [
        new BatchSpanProcessor(sink as never, { maxQueueSize: 65_536, scheduledDelayMillis: 200 }),
      ],
    }),
  )
  metrics.setGlobalMeterProvider(
    new MeterProvider({
      readers: [
        new PeriodicExportingMetricReader({
          exporter: new InMemoryMetricExporter(AggregationTemporality.DELTA),
          exportIntervalMillis: 1_000,
        }),
      ],
    }),
  )
}

const client = createUpstreamClient({
  baseUrl: 'http://in-memory',
  dispatcher: new InMemoryDispatcher(),
})
const call = () => client.get('/getEventById/1')
await callsPerSecond(call) // warm-up
const rate = await callsPerSecond(call)
console.log(JSON.stringify({ mode, apiLoaded, exported, rate }))
process.exit(0)
