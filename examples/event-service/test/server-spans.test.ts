import { context, propagation, SpanKind, trace } from '@opentelemetry/api'
import { node } from '@opentelemetry/sdk-node'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { installServerSpans } from '../src/server-spans.js'

const exporter = new node.InMemorySpanExporter()
let provider: InstanceType<typeof node.NodeTracerProvider>
let app: FastifyInstance | undefined

beforeAll(() => {
  provider = new node.NodeTracerProvider({
    spanProcessors: [new node.SimpleSpanProcessor(exporter)],
  })
  // The async-local-storage context manager and the W3C propagator, as the SDK registers them.
  provider.register()
})
afterEach(async () => {
  await app?.close()
  app = undefined
  exporter.reset()
})
afterAll(async () => {
  await provider.shutdown()
  trace.disable()
  propagation.disable()
  context.disable()
})

/** An app with server spans whose handlers answer the span id they see as active. */
async function build() {
  const a = Fastify()
  installServerSpans(a, { tracer: trace.getTracer('test') })
  a.addHook('onRequest', (_request, _reply, done) => done())
  const active = async () => ({ spanId: trace.getActiveSpan()?.spanContext().spanId ?? null })
  a.get('/users/:id', active)
  a.post('/items', async (request) => {
    // After the body was read from the socket's events: the context must still be the request's.
    await new Promise((resolve) => setImmediate(resolve))
    return { ...(await active()), body: request.body }
  })
  a.get('/boom', async () => {
    throw Object.assign(new Error('down'), { statusCode: 503, code: 'UPSTREAM_DOWN' })
  })
  a.get('/healthz', active)
  a.get('/readyz', active)
  a.get('/metrics', active)
  await a.ready()
  app = a
  return a
}

describe('server spans', () => {
  it('one SERVER span per request, named by the route, active in the handler, no hook spans', async () => {
    const a = await build()
    const res = await a.inject({ method: 'GET', url: '/users/7?x=1' })
    expect(res.statusCode).toBe(200)
    const spans = exporter.getFinishedSpans()
    expect(spans.map((s) => [s.name, s.kind])).toEqual([['GET /users/:id', SpanKind.SERVER]])
    const [span] = spans
    expect(span?.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/users/:id',
      'http.response.status_code': 200,
    })
    expect(res.json().spanId).toBe(span?.spanContext().spanId)
  })

  it('continues an incoming traceparent', async () => {
    const a = await build()
    const traceId = 'c'.repeat(32)
    await a.inject({
      method: 'GET',
      url: '/users/1',
      headers: { traceparent: `00-${traceId}-${'d'.repeat(16)}-01` },
    })
    const [span] = exporter.getFinishedSpans()
    expect(span?.spanContext().traceId).toBe(traceId)
    expect(span?.parentSpanContext?.spanId).toBe('d'.repeat(16))
  })

  it('keeps the context for a handler that runs after its body was read from a real socket', async () => {
    const a = await build()
    const url = await a.listen({ host: '127.0.0.1', port: 0 })
    const res = await fetch(`${url}/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ n: 1 }),
    })
    const answer = (await res.json()) as { body: unknown; spanId: string }
    expect(answer.body).toEqual({ n: 1 })
    const [span] = exporter.getFinishedSpans()
    expect(span?.name).toBe('POST /items')
    expect(answer.spanId).toBe(span?.spanContext().spanId)
  })

  it('marks a 5xx as an error with its code', async () => {
    const a = await build()
    expect((await a.inject({ method: 'GET', url: '/boom' })).statusCode).toBe(503)
    const [span] = exporter.getFinishedSpans()
    expect(span?.status.code).toBe(2) // SpanStatusCode.ERROR
    expect(span?.attributes['error.type']).toBe('UPSTREAM_DOWN')
    expect(span?.attributes['http.response.status_code']).toBe(503)
  })

  it('does not trace the probes, /metrics or unmatched URLs', async () => {
    const a = await build()
    for (const url of ['/healthz', '/readyz', '/metrics']) {
      const res = await a.inject({ method: 'GET', url })
      expect(res.json()).toEqual({ spanId: null })
    }
    expect((await a.inject({ method: 'GET', url: '/nowhere' })).statusCode).toBe(404)
    expect(exporter.getFinishedSpans()).toEqual([])
  })
})
