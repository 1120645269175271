import { describe, expect, it, vi } from 'vitest'
import { createUpstreamClient, isUpstreamErrorCode, type UpstreamError } from '../src/index.js'
import { closeAfterEach, json, refusedOrigin, startServer, TestClock } from './helpers.js'

const open = closeAfterEach()

const fast = { minDelayMs: 1, maxDelayMs: 2, jitter: false }

describe('retry', () => {
  it('retries a 500 and then succeeds', async () => {
    open.server = await startServer((_req, res, n) =>
      n === 1 ? json(res, 500, { error: 'boom' }) : json(res, 200, { ok: n }),
    )
    open.client = createUpstreamClient({ baseUrl: open.server.origin, retry: fast, breaker: false })
    const retries: number[] = []
    open.client.onRetry((e) => retries.push(e.attempt))
    await expect(open.client.get('/x')).resolves.toEqual({ ok: 2 })
    expect(open.server.requests).toBe(2)
    expect(retries).toEqual([1])
  })

  it('gives up after `retries` retries with the attempt count on the error', async () => {
    open.server = await startServer((_req, res) => json(res, 502, { error: 'bad gateway' }))
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      retry: { ...fast, retries: 2 },
      breaker: false,
    })
    const error = (await open.client.get('/x').catch((e: unknown) => e)) as UpstreamError
    expect(isUpstreamErrorCode(error, 'UPSTREAM_HTTP_STATUS')).toBe(true)
    expect(error.status).toBe(502)
    expect(error.attempts).toBe(3)
    expect(error.message).toBe(`GET ${open.server.origin}/x: 502 Bad Gateway (3 attempts)`)
    expect(open.server.requests).toBe(3)
  })

  it('never retries a 4xx', async () => {
    open.server = await startServer((_req, res) => json(res, 404, { error: 'not found' }))
    open.client = createUpstreamClient({ baseUrl: open.server.origin, retry: fast, breaker: false })
    const error = (await open.client.get('/x').catch((e: unknown) => e)) as UpstreamError
    expect(error.status).toBe(404)
    expect((error as { body?: unknown }).body).toEqual({ error: 'not found' })
    expect(open.server.requests).toBe(1)
  })

  it('honours Retry-After in seconds (on the injected clock)', async () => {
    const clock = new TestClock()
    open.server = await startServer((_req, res, n) =>
      n === 1 ? json(res, 429, {}, { 'retry-after': '2' }) : json(res, 200, { ok: true }),
    )
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      retry: fast,
      breaker: false,
      clock,
    })
    const delays: number[] = []
    open.client.onRetry((e) => delays.push(e.delayMs))
    const result = open.client.get('/x')
    await vi.waitFor(() => expect(clock.pendingDelays()).toContain(2_000))
    expect(open.server.requests).toBe(1)
    clock.advance(2_000)
    await expect(result).resolves.toEqual({ ok: true })
    expect(delays).toEqual([2_000])
    expect(open.server.requests).toBe(2)
  })

  it('honours Retry-After as an HTTP date', async () => {
    const clock = new TestClock()
    const at = new Date(clock.now() + 3_000).toUTCString()
    open.server = await startServer((_req, res, n) =>
      n === 1 ? json(res, 503, {}, { 'retry-after': at }) : json(res, 200, { ok: true }),
    )
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      retry: fast,
      breaker: false,
      clock,
    })
    const delays: number[] = []
    open.client.onRetry((e) => delays.push(e.delayMs))
    const result = open.client.get('/x')
    await vi.waitFor(() => expect(delays).toHaveLength(1))
    // HTTP dates have one-second resolution.
    expect(delays[0]).toBeGreaterThan(2_000)
    expect(delays[0]).toBeLessThanOrEqual(3_000)
    clock.advance(3_000)
    await expect(result).resolves.toEqual({ ok: true })
  })

  it('does not retry when Retry-After would overrun the deadline', async () => {
    open.server = await startServer((_req, res) => json(res, 503, {}, { 'retry-after': '60' }))
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      retry: fast,
      breaker: false,
      deadlineMs: 5_000,
    })
    const error = (await open.client.get('/x').catch((e: unknown) => e)) as UpstreamError
    expect(error.status).toBe(503)
    expect(error.retryAfterMs).toBe(60_000)
    expect(error.attempts).toBe(1)
    expect(open.server.requests).toBe(1)
  })

  it('does not start a backoff wait that would end after the deadline', async () => {
    open.server = await startServer((_req, res) => json(res, 500, {}))
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      retry: { retries: 5, minDelayMs: 10_000, maxDelayMs: 10_000, jitter: false },
      breaker: false,
      deadlineMs: 1_000,
    })
    const error = (await open.client.get('/x').catch((e: unknown) => e)) as UpstreamError
    expect(error.attempts).toBe(1)
    expect(open.server.requests).toBe(1)
  })
})

describe('retry rules for POST and PATCH', () => {
  it('does not retry a POST on a 500', async () => {
    open.server = await startServer((_req, res) => json(res, 500, {}))
    open.client = createUpstreamClient({ baseUrl: open.server.origin, retry: fast, breaker: false })
    await expect(open.client.post('/addEvent', { name: 'a' })).rejects.toMatchObject({
      status: 500,
    })
    expect(open.server.requests).toBe(1)
  })

  it('retries a POST on a 503 (not processed)', async () => {
    open.server = await startServer((_req, res, n) =>
      n === 1 ? json(res, 503, {}) : json(res, 200, { success: true }),
    )
    open.client = createUpstreamClient({ baseUrl: open.server.origin, retry: fast, breaker: false })
    await expect(open.client.post('/addEvent', { name: 'a' })).resolves.toEqual({ success: true })
    expect(open.server.requests).toBe(2)
    expect(open.server.log[1]?.body).toBe('{"name":"a"}')
    expect(open.server.log[1]?.headers['content-type']).toBe('application/json')
  })

  it('retries a POST on 429 only with Retry-After', async () => {
    open.server = await startServer((req, res, n) => {
      if (req.url === '/with' && n === 1) return json(res, 429, {}, { 'retry-after': '0' })
      if (req.url === '/without') return json(res, 429, {})
      json(res, 200, { success: true })
    })
    open.client = createUpstreamClient({ baseUrl: open.server.origin, retry: fast, breaker: false })
    await expect(open.client.post('/with', {})).resolves.toEqual({ success: true })
    expect(open.server.requests).toBe(2)
    await expect(open.client.post('/without', {})).rejects.toMatchObject({
      status: 429,
      attempts: 1,
    })
    expect(open.server.requests).toBe(3)
  })

  it('retries a PATCH on a 500 when an idempotency key is given, and sends it', async () => {
    open.server = await startServer((_req, res, n) =>
      n === 1 ? json(res, 500, {}) : json(res, 200, { success: true }),
    )
    open.client = createUpstreamClient({ baseUrl: open.server.origin, retry: fast, breaker: false })
    await expect(open.client.patch('/e/1', { a: 1 }, { idempotencyKey: 'k-1' })).resolves.toEqual({
      success: true,
    })
    expect(open.server.requests).toBe(2)
    expect(open.server.log.map((r) => r.headers['idempotency-key'])).toEqual(['k-1', 'k-1'])
  })

  it('retries a POST when the connection was refused', async () => {
    open.client = createUpstreamClient({
      baseUrl: await refusedOrigin(),
      retry: { ...fast, retries: 2 },
      breaker: false,
    })
    const error = (await open.client
      .post('/addEvent', {})
      .catch((e: unknown) => e)) as UpstreamError
    expect(isUpstreamErrorCode(error, 'UPSTREAM_NETWORK')).toBe(true)
    expect(error.attempts).toBe(3)
  })

  it('does not retry a POST that timed out after the body was sent, unless it has a key', async () => {
    const clock = new TestClock()
    open.server = await startServer(() => {
      // never answers
    })
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      retry: fast,
      breaker: false,
      clock,
      timeoutMs: 1_000,
    })
    const noKey = open.client.post('/addEvent', { a: 1 }).catch((e: unknown) => e)
    await vi.waitFor(() => expect(open.server?.requests).toBe(1))
    clock.advance(1_000)
    expect(await noKey).toMatchObject({ code: 'UPSTREAM_TIMEOUT', attempts: 1 })

    const withKey = open.client.post('/addEvent', { a: 1 }, { idempotencyKey: 'k' }).catch((e) => e)
    await vi.waitFor(() => expect(open.server?.requests).toBe(2))
    clock.advance(1_000) // attempt 1 times out
    await vi.waitFor(() => expect(clock.pendingDelays()).toContain(1)) // backoff wait
    clock.advance(1)
    await vi.waitFor(() => expect(open.server?.requests).toBe(3))
    clock.advance(1_000) // attempt 2 times out
    await vi.waitFor(() => expect(clock.pendingDelays()).toContain(2))
    clock.advance(2)
    await vi.waitFor(() => expect(open.server?.requests).toBe(4))
    clock.advance(1_000)
    expect(await withKey).toMatchObject({ code: 'UPSTREAM_TIMEOUT', attempts: 3 })
  })
})
