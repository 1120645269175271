import { Agent } from 'undici'
import { describe, expect, it } from 'vitest'
import {
  CircuitOpenError,
  createUpstreamClient,
  isUpstreamError,
  isUpstreamErrorCode,
  UpstreamHttpError,
} from '../src/index.js'
import { closeAfterEach, json, recordingLogger, startServer } from './helpers.js'

const open = closeAfterEach()

describe('transport', () => {
  it('reuses one keep-alive connection for 100 sequential calls', async () => {
    open.server = await startServer((_req, res, n) => json(res, 200, { n }))
    open.client = createUpstreamClient({ baseUrl: open.server.origin, connections: 1 })
    for (let i = 1; i <= 100; i++) expect(await open.client.get('/x')).toEqual({ n: i })
    expect(open.server.requests).toBe(100)
    expect(open.server.connections).toBe(1)
  })

  it('keeps connections alive with the default pool too', async () => {
    open.server = await startServer((_req, res, n) => json(res, 200, { n }))
    open.client = createUpstreamClient({ baseUrl: open.server.origin })
    for (let i = 1; i <= 100; i++) await open.client.get('/x')
    // undici hands a keep-alive socket back to its Pool one event-loop turn after a response
    // (it checks the idle socket first), so a caller that fires the next request at once gets a
    // second socket; from then on the two alternate. raw undici.request behaves the same.
    expect(open.server.connections).toBeLessThanOrEqual(2)
  })

  it('caps connections per origin', async () => {
    open.server = await startServer((_req, res) => {
      setTimeout(() => json(res, 200, {}), 10)
    })
    open.client = createUpstreamClient({ baseUrl: open.server.origin, connections: 3 })
    await Promise.all(Array.from({ length: 30 }, () => open.client?.get('/x')))
    expect(open.server.connections).toBe(3)
  })

  it('uses an injected dispatcher and leaves it open on close()', async () => {
    open.server = await startServer((_req, res) => json(res, 200, { ok: true }))
    const dispatcher = new Agent({ connections: 1 })
    open.client = createUpstreamClient({ baseUrl: open.server.origin, dispatcher })
    expect(await open.client.get('/x')).toEqual({ ok: true })
    await open.client.close()
    expect(dispatcher.closed).toBe(false)
    await dispatcher.close()
  })

  it('sends JSON, the base path, default headers, x-request-id and per-call headers', async () => {
    open.server = await startServer((_req, res) => json(res, 201, { id: '9' }))
    open.client = createUpstreamClient({
      baseUrl: `${open.server.origin}/api/`,
      headers: { authorization: 'Bearer t' },
    })
    const created = await open.client.post<{ id: string }>(
      '/addEvent',
      { name: 'login', userId: '1' },
      { requestId: 'req-1', headers: { 'x-tenant': 'a' } },
    )
    expect(created.id).toBe('9')
    const seen = open.server.log[0]
    expect(seen?.method).toBe('POST')
    expect(seen?.url).toBe('/api/addEvent')
    expect(seen?.body).toBe('{"name":"login","userId":"1"}')
    expect(seen?.headers).toMatchObject({
      'content-type': 'application/json',
      accept: 'application/json',
      authorization: 'Bearer t',
      'x-request-id': 'req-1',
      'x-tenant': 'a',
    })
    expect(seen?.headers['idempotency-key']).toBeUndefined()
  })

  it('rejects a path that does not start with a slash', async () => {
    open.server = await startServer((_req, res) => json(res, 200, {}))
    open.client = createUpstreamClient({ baseUrl: open.server.origin })
    await expect(open.client.get('x')).rejects.toMatchObject({
      code: 'UPSTREAM_INVALID_OPTION',
      message: 'Expected `path` to start with "/", got "x"',
    })
  })
})

describe('errors', () => {
  it('are branded, so guards work across copies, and carry method, url and attempts', async () => {
    open.server = await startServer((_req, res) => json(res, 418, { error: 'teapot' }))
    open.client = createUpstreamClient({ baseUrl: open.server.origin })
    const error = await open.client.get('/tea').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UpstreamHttpError)
    expect(isUpstreamError(error)).toBe(true)
    expect(isUpstreamErrorCode(error, 'UPSTREAM_HTTP_STATUS')).toBe(true)
    expect(isUpstreamErrorCode(error, 'UPSTREAM_TIMEOUT')).toBe(false)
    expect(error).toMatchObject({
      name: 'UpstreamHttpError',
      method: 'GET',
      url: `${open.server.origin}/tea`,
      status: 418,
      attempts: 1,
      body: { error: 'teapot' },
    })
    // A structurally identical error from another copy of the package has no brand of ours
    // unless it was created by it; a plain object with the code is not enough.
    expect(isUpstreamError({ code: 'UPSTREAM_HTTP_STATUS' })).toBe(false)
    expect(isUpstreamError(new Error('x'))).toBe(false)
  })

  it('map to 503 + Retry-After in one line', () => {
    const error: unknown = new CircuitOpenError({
      method: 'GET',
      url: 'http://u/x',
      attempts: 0,
      breaker: 'u',
      retryAfterMs: 4_200,
    })
    const reply = isUpstreamError(error)
      ? { status: 503, retryAfter: Math.ceil((error.retryAfterMs ?? 1_000) / 1_000) }
      : { status: 500, retryAfter: undefined }
    expect(reply).toEqual({ status: 503, retryAfter: 5 })
  })
})

describe('hooks and logging', () => {
  it('emit one state object per event and unsubscribe', async () => {
    open.server = await startServer((_req, res, n) =>
      n === 1 ? json(res, 500, {}) : json(res, 200, { ok: true }),
    )
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      retry: { minDelayMs: 1, jitter: false },
    })
    const seen: string[] = []
    const offRequest = open.client.onRequest((e) =>
      seen.push(`request ${e.method} ${e.path} #${e.attempt} ${e.requestId}`),
    )
    open.client.onResponse((e) => seen.push(`response ${e.status} #${e.attempt}`))
    open.client.onAttemptError((e) => seen.push(`attemptError ${e.error.code} #${e.attempt}`))
    open.client.onRetry((e) => seen.push(`retry #${e.attempt} after ${e.delayMs}ms`))
    await open.client.get('/x', { requestId: 'r1' })
    expect(seen).toEqual([
      'request GET /x #1 r1',
      'response 500 #1',
      'attemptError UPSTREAM_HTTP_STATUS #1',
      'retry #1 after 1ms',
      'request GET /x #2 r1',
      'response 200 #2',
    ])
    offRequest()
    seen.length = 0
    await open.client.get('/x')
    expect(seen).toEqual(['response 200 #1'])
  })

  it('a throwing listener does not change the outcome of a call', async () => {
    open.server = await startServer((_req, res) => json(res, 200, { ok: true }))
    open.client = createUpstreamClient({ baseUrl: open.server.origin })
    open.client.onResponse(() => {
      throw new Error('metrics broke')
    })
    await expect(open.client.get('/x')).resolves.toEqual({ ok: true })
  })

  it('logs structured attempt lines on a child per upstream and state changes at warn', async () => {
    open.server = await startServer((_req, res, n) =>
      n <= 2 ? json(res, 200, { ok: true }) : json(res, 500, {}),
    )
    const { logger, lines } = recordingLogger()
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      name: 'events',
      logger,
      retry: false,
      breaker: { failureThreshold: 1 },
    })
    await open.client.get('/getEventById/1', { requestId: 'abc' })
    expect(lines[0]).toMatchObject({
      level: 'debug',
      bindings: { upstream: 'events' },
      fields: {
        method: 'GET',
        path: '/getEventById/1',
        status: 200,
        attempt: 1,
        circuit: 'closed',
        requestId: 'abc',
      },
    })
    expect(lines[0]?.fields).toHaveProperty('durationMs', expect.any(Number))
    await open.client.get('/x')
    await open.client.get('/x').catch(() => undefined)
    const warn = lines.find((l) => l.level === 'warn')
    expect(warn).toMatchObject({
      bindings: { upstream: 'events' },
      fields: { circuit: 'open', from: 'closed' },
    })
  })
})
