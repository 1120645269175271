// The new user's service, written from the READMEs and compiled in a consumer folder (strict,
// nodenext) against the packed tarballs. It prints one JSON line of findings; the script that
// compiled it (scripts/check-newcomer.mjs) judges them. Nothing here asserts, so that one wrong
// answer does not hide the others.
import { request } from 'node:http'
import { metrics, NodeSDK, tracing } from '@opentelemetry/sdk-node'
import { frameworkErrorHandler, toHttpProblem, userEvents } from '@userevents/fastify'
import { createMockUpstream } from '@userevents/mock-server'
import { createUpstreamClient, path } from '@userevents/upstream-client'
import Fastify from 'fastify'

const findings: Record<string, unknown> = {}
const mock = createMockUpstream({ mode: 'healthy', delays: 0, networkErrorRate: 0 })
const upstream = await mock.listen({ host: '127.0.0.1', port: 0 })

// 1. A client created before the SDK starts, as a module imported before the telemetry file would.
const early = createUpstreamClient({ baseUrl: upstream.url, retry: false })
// SimpleSpanProcessor exports once the resource's async attributes settle, so the names are read
// after sdk.shutdown(), which waits for pending exports.
const spanNames: string[] = []
const exporter: tracing.SpanExporter = {
  export(batch, done) {
    spanNames.push(...batch.map((s) => `${s.name} ${s.spanContext().spanId}`))
    done({ code: 0 })
  },
  shutdown: async () => {},
}
const reader = new metrics.PeriodicExportingMetricReader({
  exporter: new metrics.InMemoryMetricExporter(metrics.AggregationTemporality.CUMULATIVE),
  exportIntervalMillis: 3_600_000,
})
const sdk = new NodeSDK({
  spanProcessors: [new tracing.SimpleSpanProcessor(exporter)],
  metricReaders: [reader],
})
sdk.start()
await early.get(path`/getUserById/${'1'}`)
findings.traceparent = mock.requests().at(-1)?.headers.traceparent ?? null
const { resourceMetrics } = await reader.collect()
findings.metrics = resourceMetrics.scopeMetrics.flatMap((s) =>
  s.metrics.map((m) => m.descriptor.name),
)

// 2. One error format, set once: the plugin's problem+json also answers Fastify's own errors.
const app = Fastify({ frameworkErrors: frameworkErrorHandler({ requestIdHeader: 'x-request-id' }) })
await app.register(userEvents, {
  client: { baseUrl: upstream.url, retry: false },
  errorHandler: { format: 'problem+json' },
})
const closedClient = createUpstreamClient({ baseUrl: upstream.url })
await closedClient.close()
app.get<{ Params: { id: string } }>('/users/:id', async (req, reply) =>
  app.upstream.get(path`/getUserById/${req.params.id}`, reply.upstreamContext()),
)
app.get('/closed', async () => closedClient.get('/getUsers'))
const base = await app.listen({ host: '127.0.0.1', port: 0 })
findings.badUrl = await rawGet(`${base}/users/%`)
// 3. No upstream text in answers (the mock says `User "999" not found`).
findings.notFound = await rawGet(`${base}/users/999`)
// 4. A call on a closed client is the service's bug: 500, not an outage.
findings.closed = await rawGet(`${base}/closed`)
await app.close()
const afterClose = await app.upstream.get('/getUsers').catch((e: unknown) => e)
findings.afterCloseStatus = toHttpProblem(afterClose).statusCode

// 5. A typo'd plugin option, which TypeScript only catches on an object literal.
const options = { client: { baseUrl: upstream.url }, errorHandle: true }
const typo = Fastify()
try {
  await typo.register(userEvents, options)
  findings.typo = 'accepted'
} catch (e) {
  findings.typo = e instanceof Error ? e.message : String(e)
}
await typo.close().catch(() => {})

await early.close()
await sdk.shutdown()
findings.spans = spanNames
await upstream.close()
console.log(JSON.stringify(findings))

/** GET with the raw path (fetch would normalise `%`). */
function rawGet(url: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      let body = ''
      res.on('data', (c) => {
        body += c
      })
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }),
      )
    })
      .on('error', reject)
      .end()
  })
}
