import { AsyncLocalStorage } from 'node:async_hooks'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  createUpstreamClient,
  diagnosticsChannels,
  hasTraceparent,
  path,
  type UpstreamClientOptions,
} from '../src/index.js'
import { closeAfterEach, json, startServer, TestClock } from './helpers.js'
import { only, parentOf, pointsOf, startTestSdk, sumOf, type TestSdk } from './otel.js'

const open = closeAfterEach()
let sdk: TestSdk | undefined

afterEach(async () => {
  await sdk?.shutdown()
  sdk = undefined
})

const fastRetry = { retries: 2, minDelayMs: 1, maxDelayMs: 1, jitter: false }

/** A server answering 503 to its first request and 200 to the others. */
const failOnce = () =>
  startServer((_req, res, n) =>
    n === 1 ? json(res, 503, { error: 'busy' }) : json(res, 200, { id: '7', n }),
  )

const client = (options: Partial<UpstreamClientOptions>) => {
  open.client = createUpstreamClient({
    baseUrl: open.server!.origin,
    retry: fastRetry,
    ...options,
  })
  return open.client
}

describe('traces', () => {
  it('an INTERNAL span per call, a CLIENT span per attempt, under the caller span', async () => {
    sdk = startTestSdk()
    open.server = await failOnce()
    const c = client({})
    const tracer = trace.getTracer('test')
    await tracer.startActiveSpan('page', async (page) => {
      await c.get('/getEventById/7')
      page.end()
    })
    const spans = sdk.spans.getFinishedSpans()
    const page = only(spans, 'page')
    const call = spans.find((s) => s.kind === SpanKind.INTERNAL && s.name !== 'page')!
    const attempts = spans.filter((s) => s.kind === SpanKind.CLIENT)
    expect(call.name).toBe('GET /getEventById')
    expect(parentOf(call)).toBe(page.spanContext().spanId)
    expect(attempts.map((s) => s.name)).toEqual(['GET /getEventById', 'GET /getEventById'])
    for (const a of attempts) {
      expect(parentOf(a)).toBe(call.spanContext().spanId)
      expect(a.spanContext().traceId).toBe(page.spanContext().traceId)
    }
    const port = Number(new URL(open.server.origin).port)
    const [first, second] = attempts as [(typeof attempts)[0], (typeof attempts)[0]]
    expect(first.attributes).toEqual({
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'server.port': port,
      'url.full': `${open.server.origin}/getEventById/7`,
      'http.response.status_code': 503,
      'error.type': '503',
    })
    expect(first.status.code).toBe(SpanStatusCode.ERROR)
    expect(second.attributes).toEqual({
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'server.port': port,
      'url.full': `${open.server.origin}/getEventById/7`,
      'http.request.resend_count': 1,
      'http.response.status_code': 200,
    })
    expect(second.status.code).toBe(SpanStatusCode.UNSET)
    expect(call.attributes).toMatchObject({
      'userevents.client.name': open.server.origin,
      'userevents.operation': 'GET /getEventById',
      'userevents.call.attempts': 2,
      'userevents.call.outcome': 'upstream',
    })
    expect(call.events.map((e) => [e.name, e.attributes])).toEqual([
      [
        'userevents.retry',
        { 'userevents.retry.attempt': 1, 'userevents.retry.delay_ms': 1, 'error.type': '503' },
      ],
    ])
    // The upstream saw each attempt's own span as the parent, in the caller's trace.
    expect(open.server.log.map((r) => r.headers.traceparent)).toEqual(
      attempts.map((a) => `00-${a.spanContext().traceId}-${a.spanContext().spanId}-01`),
    )
  })

  it('a circuit rejection and coalescing are events on the call span; a fresh cache hit has no span', async () => {
    sdk = startTestSdk()
    open.server = await startServer((req, res) => {
      if (req.url === '/down') json(res, 503, {})
      else setTimeout(() => json(res, 200, { ok: true }), 20)
    })
    const c = client({ retry: false, breaker: { failureThreshold: 1 }, cache: { ttlMs: 60_000 } })
    await Promise.all([c.get('/getUserById/1'), c.get('/getUserById/1')])
    await c.get('/getUserById/1')
    await expect(c.get('/down')).rejects.toMatchObject({ code: 'UPSTREAM_HTTP_STATUS' })
    // Only the failing operation's breaker opened.
    await expect(c.get('/down')).rejects.toMatchObject({ code: 'UPSTREAM_CIRCUIT_OPEN' })
    const spans = sdk.spans.getFinishedSpans()
    const calls = spans.filter((s) => s.kind === SpanKind.INTERNAL)
    const children = (id: string) => spans.filter((s) => parentOf(s) === id).length
    const summary = calls.map((s) => ({
      name: s.name,
      outcome: s.attributes['userevents.call.outcome'],
      events: s.events.map((e) => e.name),
      attempts: children(s.spanContext().spanId),
    }))
    expect(summary).toEqual([
      // Two concurrent identical GETs: the second joins the first and sends nothing.
      { name: 'GET /getUserById', outcome: 'upstream', events: [], attempts: 1 },
      {
        name: 'GET /getUserById',
        outcome: 'coalesced',
        events: ['userevents.coalesced'],
        attempts: 0,
      },
      // The third call, answered from the fresh cache, did no I/O: no span.
      { name: 'GET /down', outcome: 'error', events: [], attempts: 1 },
      { name: 'GET /down', outcome: 'error', events: ['userevents.circuit.rejected'], attempts: 0 },
    ])
    const rejected = calls[3]!
    expect(rejected.status.code).toBe(SpanStatusCode.ERROR)
    expect(rejected.attributes['error.type']).toBe('UPSTREAM_CIRCUIT_OPEN')
    // The call span starts when the call does, not when it first needed one.
    const upstream = calls[0]!
    expect(upstream.startTime[0] * 1e9 + upstream.startTime[1]).toBeLessThan(
      upstream.endTime[0] * 1e9 + upstream.endTime[1],
    )
    expect(open.server.requests).toBe(2)
  })

  it('names spans by operation: a path template, or an operation name', async () => {
    sdk = startTestSdk({ metrics: false })
    open.server = await startServer((_req, res) => json(res, 200, { id: '7' }))
    const c = client({})
    const id = '7'
    await c.get(path`/getEventById/${id}`)
    await c.get('/getUsers', { operation: 'listUsers' })
    const spans = sdk.spans.getFinishedSpans()
    expect(spans.map((s) => [s.name, SpanKind[s.kind], s.attributes['url.template']])).toEqual([
      ['GET /getEventById/{}', 'CLIENT', '/getEventById/{}'],
      ['GET /getEventById/{}', 'INTERNAL', undefined],
      ['GET listUsers', 'CLIENT', undefined],
      ['listUsers', 'INTERNAL', undefined],
    ])
    expect(spans[1]?.attributes['userevents.operation']).toBe('GET /getEventById/{}')
    expect(spans[3]?.attributes['userevents.operation']).toBe('listUsers')
  })

  it('sends no trace context and records nothing without an SDK, or with telemetry: false', async () => {
    // A propagator and a context manager alone (no tracer provider): nothing to propagate.
    sdk = startTestSdk({ traces: false, metrics: false })
    open.server = await startServer((_req, res) => json(res, 200, {}))
    await client({}).get('/a')
    await sdk.shutdown()
    sdk = startTestSdk()
    const off = createUpstreamClient({ baseUrl: open.server.origin, telemetry: false })
    await trace.getTracer('test').startActiveSpan('parent', async (span) => {
      await off.get('/b')
      span.end()
    })
    await off.close()
    expect(open.server.log.map((r) => r.headers.traceparent)).toEqual([undefined, undefined])
    expect(sdk.spans.getFinishedSpans().map((s) => s.name)).toEqual(['parent'])
    expect((await sdk.collect()).size).toBe(0)
  })
})

describe('an SDK registered after the client was created', () => {
  it('traces, propagates and meters the calls made once it is registered', async () => {
    const held: (() => void)[] = []
    open.server = await startServer((req, res) => {
      // `/slow` waits for the test: a call in flight while the SDK registers.
      if (req.url === '/slow') held.push(() => json(res, 200, {}))
      else json(res, 200, { ok: true })
    })
    // Created first, as a module imported before the telemetry file would create it.
    const c = client({})
    await c.get('/before')
    const slow = c.get('/slow', { cache: false })
    await vi.waitFor(() => expect(held).toHaveLength(1), { interval: 2 })

    sdk = startTestSdk()
    await trace.getTracer('test').startActiveSpan('page', async (page) => {
      await c.get('/getEventById/7')
      page.end()
    })
    held[0]?.()
    await slow

    const traceparents = open.server.log.map((r) => r.headers.traceparent)
    expect(traceparents[0]).toBeUndefined() // before the SDK: nothing to propagate
    const spans = sdk.spans.getFinishedSpans()
    const page = only(spans, 'page')
    const call = spans.find((s) => s.kind === SpanKind.INTERNAL && s.name !== 'page')
    const attempt = spans.find((s) => s.kind === SpanKind.CLIENT)
    expect(parentOf(call!)).toBe(page.spanContext().spanId)
    expect(parentOf(attempt!)).toBe(call!.spanContext().spanId)
    // The attempt's own context went upstream.
    const sent = open.server.log.find((r) => r.url === '/getEventById/7')?.headers.traceparent
    expect(sent).toBe(`00-${page.spanContext().traceId}-${attempt!.spanContext().spanId}-01`)
    // The call started before the SDK has no span, and no call made before it is counted.
    expect(spans.map((s) => s.kind)).toEqual([
      SpanKind.CLIENT,
      SpanKind.INTERNAL,
      SpanKind.INTERNAL,
    ])
    expect(call!.attributes['url.full'] ?? attempt!.attributes['url.full']).toBe(
      `${open.server.origin}/getEventById/7`,
    )
    const m = await sdk.collect()
    const duration = m.get('http.client.request.duration')
    // The call after registration, and the /slow attempt that answered after it.
    expect(pointsOf(duration!).reduce((n, p) => n + (p.value as { count: number }).count, 0)).toBe(
      2,
    )
    // The /slow call, started before the meter existed, ends without driving the count negative.
    expect(sumOf(m.get('userevents.client.calls.in_flight'))).toBe(0)
  })
})

describe('cache hits', () => {
  it('a fresh cache hit records no span but counts a hit; a stale-if-error answer keeps its span', async () => {
    sdk = startTestSdk()
    const clock = new TestClock()
    open.server = await startServer((_req, res, n) =>
      n === 1 ? json(res, 200, { n }) : json(res, 503, {}),
    )
    const c = client({
      clock,
      retry: false,
      breaker: false,
      cache: { ttlMs: 1_000, staleIfError: true },
    })
    const tracer = trace.getTracer('test')
    await tracer.startActiveSpan('page', async (page) => {
      await c.get('/getUserById/1') // miss: the upstream answers
      await c.get('/getUserById/1') // fresh hit
      await c.get('/getUserById/1') // fresh hit
      page.end()
    })
    const internal = () =>
      sdk!.spans.getFinishedSpans().filter((s) => s.kind === SpanKind.INTERNAL && s.name !== 'page')
    // One call span for the miss, none for the two hits; the page span is still the parent.
    expect(internal().map((s) => s.attributes['userevents.call.outcome'])).toEqual(['upstream'])
    expect(parentOf(internal()[0]!)).toBe(
      only(sdk.spans.getFinishedSpans(), 'page').spanContext().spanId,
    )
    let lookups = (await sdk.collect()).get('userevents.client.cache.lookups')
    expect(sumOf(lookups, { 'userevents.cache.result': 'hit' })).toBe(2)
    expect(sumOf(lookups, { 'userevents.cache.result': 'miss' })).toBe(1)
    expect(pointsOf(lookups!, { 'userevents.cache.result': 'stale' })).toEqual([])
    // Expired, then the upstream fails: the expired entry is served, on a span with its attempt.
    clock.skip(2_000)
    expect(await c.get('/getUserById/1')).toEqual({ n: 1 })
    const stale = internal()[1]!
    expect(stale.attributes['userevents.call.outcome']).toBe('stale')
    expect(stale.events.map((e) => [e.name, e.attributes])).toEqual([
      [
        'userevents.cache.hit',
        { 'userevents.cache.stale': true, 'userevents.cache.result': 'stale' },
      ],
    ])
    // Cumulative, as a counter: the second collection counts on from the first.
    lookups = (await sdk.collect()).get('userevents.client.cache.lookups')
    expect(sumOf(lookups, { 'userevents.cache.result': 'hit' })).toBe(2)
    expect(sumOf(lookups, { 'userevents.cache.result': 'miss' })).toBe(2)
    expect(sumOf(lookups, { 'userevents.cache.result': 'stale' })).toBe(1)
  })
})

describe('metrics', () => {
  it('after a retry, an open circuit and a cache hit', async () => {
    sdk = startTestSdk()
    open.server = await startServer((req, res, n) => {
      if (req.url === '/down') json(res, 503, {})
      else if (n === 1) json(res, 503, {})
      else json(res, 200, { ok: true })
    })
    // Each operation has its own breaker: the three failed attempts of /down open its circuit;
    // the one 503 of /getEventById/1 counts toward another breaker.
    const c = client({ breaker: { failureThreshold: 3 }, cache: { ttlMs: 60_000 } })
    await c.get('/getEventById/1') // 503, then 200 on the retry
    await c.get('/getEventById/1') // fresh cache hit
    await expect(c.get('/down', { cache: false })).rejects.toMatchObject({ status: 503 })
    await expect(c.get('/down', { cache: false })).rejects.toMatchObject({
      code: 'UPSTREAM_CIRCUIT_OPEN',
    })
    const m = await sdk.collect()
    const server = {
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'server.port': Number(new URL(open.server.origin).port),
    }
    const duration = m.get('http.client.request.duration')!
    expect(duration.descriptor.unit).toBe('s')
    const histogram = (match: Record<string, unknown>) =>
      pointsOf(duration, match).map((p) => (p.value as { count: number }).count)
    expect(histogram({ ...server, 'http.response.status_code': 200 })).toEqual([1])
    expect(histogram({ ...server, 'http.response.status_code': 503, 'error.type': '503' })).toEqual(
      [4],
    ) // 1 for /getEventById/1 + 3 for /down
    const boundaries = (pointsOf(duration)[0]!.value as { buckets: { boundaries: number[] } })
      .buckets.boundaries
    expect(boundaries).toEqual([
      0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
    ])
    const op = (operation: string) => ({
      'userevents.client.name': open.server!.origin,
      'userevents.operation': operation,
    })
    expect(sumOf(m.get('userevents.client.retries'), op('GET /getEventById'))).toBe(1)
    expect(sumOf(m.get('userevents.client.retries'), op('GET /down'))).toBe(2)
    expect(sumOf(m.get('userevents.client.retries'), { 'error.type': '503' })).toBe(3)
    const lookups = m.get('userevents.client.cache.lookups')
    expect(sumOf(lookups, { 'userevents.cache.result': 'miss' })).toBe(1)
    expect(sumOf(lookups, { 'userevents.cache.result': 'hit' })).toBe(1)
    const state = m.get('userevents.client.circuit.state')
    const isOpen = { 'userevents.circuit.state': 'open' }
    const isClosed = { 'userevents.circuit.state': 'closed' }
    expect(sumOf(state, { ...op('GET /down'), ...isOpen })).toBe(1)
    expect(sumOf(state, { ...op('GET /down'), ...isClosed })).toBe(0)
    expect(sumOf(state, { ...op('GET /getEventById'), ...isOpen })).toBe(0)
    expect(sumOf(state, { ...op('GET /getEventById'), ...isClosed })).toBe(1)
    expect(
      sumOf(m.get('userevents.client.circuit.transitions'), {
        ...op('GET /down'),
        'userevents.circuit.from': 'closed',
        'userevents.circuit.to': 'open',
      }),
    ).toBe(1)
    expect(sumOf(m.get('userevents.client.circuit.transitions'))).toBe(1)
    expect(sumOf(m.get('userevents.client.circuit.rejections'), op('GET /down'))).toBe(1)
    // Every call settled: nothing is left in flight.
    expect(sumOf(m.get('userevents.client.calls.in_flight'))).toBe(0)
  })

  it('counts coalesced callers', async () => {
    sdk = startTestSdk({ traces: false })
    open.server = await startServer((_req, res) => {
      setTimeout(() => json(res, 200, {}), 20)
    })
    const c = client({ cache: { ttlMs: 60_000 } })
    await Promise.all(Array.from({ length: 5 }, () => c.get('/getUsers')))
    const m = await sdk.collect()
    expect(sumOf(m.get('userevents.client.coalesced'))).toBe(4)
    expect(open.server.requests).toBe(1)
  })
})

describe('@opentelemetry/instrumentation-undici beside the client', () => {
  const run = async (hook: boolean) => {
    sdk = startTestSdk()
    const undici = new UndiciInstrumentation(hook ? { ignoreRequestHook: hasTraceparent } : {})
    undici.setTracerProvider(sdk.tracerProvider)
    undici.setMeterProvider(sdk.meterProvider)
    try {
      open.server = await startServer((_req, res) => json(res, 200, {}))
      await client({}).get('/getUsers')
      // A plain undici request of the same process is still traced by the instrumentation.
      await fetch(`${open.server.origin}/other`).then((r) => r.arrayBuffer())
    } finally {
      undici.disable()
    }
    const spans = sdk.spans.getFinishedSpans()
    return {
      clientSpans: spans.filter((s) => s.kind === SpanKind.CLIENT).map((s) => s.name),
      traceparents: open.server.log.map((r) => String(r.headers.traceparent)),
    }
  }

  it('without the hook both trace the same request: two spans, two traceparent values', async () => {
    const { clientSpans, traceparents } = await run(false)
    expect(clientSpans.sort()).toEqual(['GET', 'GET', 'GET /getUsers'])
    expect(traceparents[0]?.split(',')).toHaveLength(2)
  })

  it('with ignoreRequestHook: hasTraceparent, one span and one traceparent per attempt', async () => {
    const { clientSpans, traceparents } = await run(true)
    expect(clientSpans.sort()).toEqual(['GET', 'GET /getUsers'])
    expect(traceparents[0]?.split(',')).toHaveLength(1)
    expect(traceparents[1]?.split(',')).toHaveLength(1)
  })

  it('hasTraceparent reads both header shapes undici uses', () => {
    expect(hasTraceparent({ headers: ['accept', 'x', 'TraceParent', '00-…'] })).toBe(true)
    expect(hasTraceparent({ headers: ['accept', 'x'] })).toBe(false)
    expect(hasTraceparent({ headers: 'accept: x\r\ntraceparent: 00-…\r\n' })).toBe(true)
    expect(hasTraceparent({ headers: 'accept: x\r\n' })).toBe(false)
    expect(hasTraceparent({})).toBe(false)
  })
})

describe('diagnostics_channel', () => {
  it('publishes the call lifecycle; a request subscriber may add headers', async () => {
    open.server = await failOnce()
    const seen: string[] = []
    const listeners = Object.entries(diagnosticsChannels).map(([key, name]) => {
      const listener = (message: unknown) => {
        const m = message as { status?: number; attempt?: number; headers?: object }
        seen.push(m.status === undefined ? key : `${key} ${m.status}`)
        if (key === 'request') (m.headers as Record<string, string>)['x-apm'] = `a${m.attempt}`
      }
      subscribe(name, listener)
      return () => unsubscribe(name, listener)
    })
    try {
      const c = client({ cache: { ttlMs: 60_000 } })
      await c.get('/getEventById/7')
      await c.get('/getEventById/7')
    } finally {
      for (const off of listeners) off()
    }
    expect(seen).toEqual([
      'callStart',
      'cacheMiss',
      'request',
      'response 503',
      'attemptError',
      'retry',
      'request',
      'response 200',
      'callEnd',
      'callStart',
      'cacheHit',
      'callEnd',
    ])
    expect(open.server.log.map((r) => r.headers['x-apm'])).toEqual(['a1', 'a2'])
  })

  it('publishes circuit state changes once per breaker', async () => {
    open.server = await startServer((_req, res) => json(res, 503, {}))
    const states: unknown[] = []
    const listener = (m: unknown) => states.push(m)
    subscribe(diagnosticsChannels.circuitState, listener)
    try {
      const c = client({ retry: false, breaker: { failureThreshold: 1 }, name: 'events' })
      await expect(c.get('/x')).rejects.toMatchObject({ status: 503 })
    } finally {
      unsubscribe(diagnosticsChannels.circuitState, listener)
    }
    expect(states).toEqual([{ name: 'events', operation: 'GET /x', from: 'closed', to: 'open' }])
  })
})

describe('async context of hooks', () => {
  it('a call waiting in the adaptive limit queue runs in its own caller context', async () => {
    const store = new AsyncLocalStorage<string>()
    open.server = await startServer((_req, res) => {
      setTimeout(() => json(res, 200, {}), 5)
    })
    const c = client({
      retry: false,
      adaptiveLimit: { initialLimit: 1, minLimit: 1, maxLimit: 1, maxQueued: 10 },
    })
    const seen: string[] = []
    c.onRequest((e) => seen.push(`${e.path} ${store.getStore()}`))
    const names = ['a', 'b', 'c', 'd']
    await Promise.all(names.map((n) => store.run(n, () => c.get(`/x/${n}`))))
    expect(seen.sort()).toEqual(names.map((n) => `/x/${n} ${n}`))
  })

  it('a call waiting for a maxInFlight slot runs in its own caller context', async () => {
    const store = new AsyncLocalStorage<string>()
    open.server = await startServer((_req, res) => {
      setTimeout(() => json(res, 200, {}), 5)
    })
    const c = client({ retry: false, maxInFlight: 1, maxWaiting: 10 })
    const seen: string[] = []
    c.onRequest((e) => seen.push(`${e.path} ${store.getStore()}`))
    const names = ['a', 'b', 'c', 'd']
    await Promise.all(names.map((n) => store.run(n, () => c.get(`/x/${n}`))))
    expect(seen.sort()).toEqual(names.map((n) => `/x/${n} ${n}`))
  })

  it('response and attempt-error listeners run in the caller context, not the socket opener', async () => {
    const store = new AsyncLocalStorage<string>()
    open.server = await startServer((req, res) => json(res, req.url === '/fail' ? 500 : 200, {}))
    const c = client({ retry: false, breaker: false, connections: 1 })
    const seen: string[] = []
    c.onResponse((e) => seen.push(`${e.path} ${store.getStore()}`))
    c.onAttemptError((e) => seen.push(`${e.path} error ${store.getStore()}`))
    // The first call opens the only connection; the others reuse it.
    await store.run('first', () => c.get('/a'))
    await store.run('second', () => c.get('/b'))
    await store.run('third', () => c.get('/fail')).catch(() => undefined)
    expect(open.server.connections).toBe(1)
    expect(seen).toEqual(['/a first', '/b second', '/fail third', '/fail error third'])
  })
})
