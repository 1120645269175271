import { Agent } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import {
  CircuitOpenError,
  createUpstreamClient,
  isUpstreamError,
  isUpstreamErrorCode,
  type UpstreamClient,
  UpstreamHttpError,
} from '../src/index.js'
import { json, recordingLogger, startServer, type TestServer } from './helpers.js'

let server: TestServer | undefined
let client: UpstreamClient | undefined
afterEach(async () => {
  await server?.close()
  await client?.close()
  client = undefined
  server = undefined
})

describe('transport', () => {
  it('reuses one keep-alive connection for 100 sequential calls', async () => {
    server = await startServer((_req, res, n) => json(res, 200, { n }))
    client = createUpstreamClient({ baseUrl: server.origin, connections: 1 })
    for (let i = 1; i <= 100; i++) expect(await client.get('/x')).toEqual({ n: i })
    expect(server.requests).toBe(100)
    expect(server.connections).toBe(1)
  })

  it('keeps connections alive with the default pool too', async () => {
    server = await startServer((_req, res, n) => json(res, 200, { n }))
    client = createUpstreamClient({ baseUrl: server.origin })
    for (let i = 1; i <= 100; i++) await client.get('/x')
    // undici hands a keep-alive socket back to its Pool one event-loop turn after a response
    // (it checks the idle socket first), so a caller that fires the next request at once gets a
    // second socket; from then on the two alternate. raw undici.request behaves the same.
    expect(server.connections).toBeLessThanOrEqual(2)
  })

  it('caps connections per origin', async () => {
    server = await startServer((_req, res) => {
      setTimeout(() => json(res, 200, {}), 10)
    })
    client = createUpstreamClient({ baseUrl: server.origin, connections: 3 })
    await Promise.all(Array.from({ length: 30 }, () => client?.get('/x')))
    expect(server.connections).toBe(3)
  })

  it('uses an injected dispatcher and leaves it open on close()', async () => {
    server = await startServer((_req, res) => json(res, 200, { ok: true }))
    const dispatcher = new Agent({ connections: 1 })
    client = createUpstreamClient({ baseUrl: server.origin, dispatcher })
    expect(await client.get('/x')).toEqual({ ok: true })
    await client.close()
    expect(dispatcher.closed).toBe(false)
    await dispatcher.close()
  })

  it('sends JSON, the base path, default headers, x-request-id and per-call headers', async () => {
    server = await startServer((_req, res) => json(res, 201, { id: '9' }))
    client = createUpstreamClient({
      baseUrl: `${server.origin}/api/`,
      headers: { authorization: 'Bearer t' },
    })
    const created = await client.post<{ id: string }>(
      '/addEvent',
      { name: 'login', userId: '1' },
      { requestId: 'req-1', headers: { 'x-tenant': 'a' } },
    )
    expect(created.id).toBe('9')
    const seen = server.log[0]
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
    server = await startServer((_req, res) => json(res, 200, {}))
    client = createUpstreamClient({ baseUrl: server.origin })
    await expect(client.get('x')).rejects.toMatchObject({
      code: 'UPSTREAM_INVALID_OPTION',
      message: 'Expected `path` to start with "/", got "x"',
    })
  })
})

describe('errors', () => {
  it('are branded, so guards work across copies, and carry method, url and attempts', async () => {
    server = await startServer((_req, res) => json(res, 418, { error: 'teapot' }))
    client = createUpstreamClient({ baseUrl: server.origin })
    const error = await client.get('/tea').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UpstreamHttpError)
    expect(isUpstreamError(error)).toBe(true)
    expect(isUpstreamErrorCode(error, 'UPSTREAM_HTTP_STATUS')).toBe(true)
    expect(isUpstreamErrorCode(error, 'UPSTREAM_TIMEOUT')).toBe(false)
    expect(error).toMatchObject({
      name: 'UpstreamHttpError',
      method: 'GET',
      url: `${server.origin}/tea`,
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
    server = await startServer((_req, res, n) =>
      n === 1 ? json(res, 500, {}) : json(res, 200, { ok: true }),
    )
    client = createUpstreamClient({
      baseUrl: server.origin,
      retry: { minDelayMs: 1, jitter: false },
    })
    const seen: string[] = []
    const offRequest = client.onRequest((e) =>
      seen.push(`request ${e.method} ${e.path} #${e.attempt} ${e.requestId}`),
    )
    client.onResponse((e) => seen.push(`response ${e.status} #${e.attempt}`))
    client.onAttemptError((e) => seen.push(`attemptError ${e.error.code} #${e.attempt}`))
    client.onRetry((e) => seen.push(`retry #${e.attempt} after ${e.delayMs}ms`))
    await client.get('/x', { requestId: 'r1' })
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
    await client.get('/x')
    expect(seen).toEqual(['response 200 #1'])
  })

  it('a throwing listener does not change the outcome of a call', async () => {
    server = await startServer((_req, res) => json(res, 200, { ok: true }))
    client = createUpstreamClient({ baseUrl: server.origin })
    client.onResponse(() => {
      throw new Error('metrics broke')
    })
    await expect(client.get('/x')).resolves.toEqual({ ok: true })
  })

  it('logs structured attempt lines on a child per upstream and state changes at warn', async () => {
    server = await startServer((_req, res, n) =>
      n <= 2 ? json(res, 200, { ok: true }) : json(res, 500, {}),
    )
    const { logger, lines } = recordingLogger()
    client = createUpstreamClient({
      baseUrl: server.origin,
      name: 'events',
      logger,
      retry: false,
      breaker: { failureThreshold: 1 },
    })
    await client.get('/getEventById/1', { requestId: 'abc' })
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
    await client.get('/x')
    await client.get('/x').catch(() => undefined)
    const warn = lines.find((l) => l.level === 'warn')
    expect(warn).toMatchObject({
      bindings: { upstream: 'events' },
      fields: { circuit: 'open', from: 'closed' },
    })
  })
})
