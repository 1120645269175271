import { describe, expect, it, vi } from 'vitest'
import { createUpstreamClient } from '../src/index.js'
import { closeAfterEach, json, startServer, TestClock } from './helpers.js'

const open = closeAfterEach()

describe('cache', () => {
  it('serves a second GET from the cache and reports hits and misses', async () => {
    open.server = await startServer((_req, res, n) => json(res, 200, { n }))
    open.client = createUpstreamClient({ baseUrl: open.server.origin, cache: { ttlMs: 1_000 } })
    const events: string[] = []
    open.client.onCacheHit((e) => events.push(`hit ${e.key} ${e.stale}`))
    open.client.onCacheMiss((e) => events.push(`miss ${e.key}`))
    expect(await open.client.get('/getEventById/1')).toEqual({ n: 1 })
    expect(await open.client.get('/getEventById/1')).toEqual({ n: 1 })
    expect(open.server.requests).toBe(1)
    expect(events).toEqual(['miss /getEventById/1', 'hit /getEventById/1 false'])
  })

  it('expires entries after ttlMs (on the injected clock)', async () => {
    const clock = new TestClock()
    open.server = await startServer((_req, res, n) => json(res, 200, { n }))
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      clock,
      cache: { ttlMs: 1_000 },
    })
    await open.client.get('/x')
    clock.advance(999)
    expect(await open.client.get('/x')).toEqual({ n: 1 })
    clock.advance(2)
    expect(await open.client.get('/x')).toEqual({ n: 2 })
    expect(open.server.requests).toBe(2)
  })

  it('coalesces 100 concurrent identical GETs into one upstream call', async () => {
    open.server = await startServer((_req, res, n) => {
      setTimeout(() => json(res, 200, { n }), 20)
    })
    open.client = createUpstreamClient({ baseUrl: open.server.origin, cache: { ttlMs: 1_000 } })
    const results = await Promise.all(Array.from({ length: 100 }, () => open.client?.get('/hot')))
    expect(open.server.requests).toBe(1)
    expect(new Set(results.map((r) => JSON.stringify(r)))).toEqual(new Set(['{"n":1}']))
  })

  it('lets a call opt out of the cache and coalescing', async () => {
    open.server = await startServer((_req, res, n) => json(res, 200, { n }))
    open.client = createUpstreamClient({ baseUrl: open.server.origin, cache: { ttlMs: 10_000 } })
    await open.client.get('/x')
    expect(await open.client.get('/x', { cache: false })).toEqual({ n: 2 })
    await Promise.all([
      open.client.get('/y', { cache: false }),
      open.client.get('/y', { cache: false }),
    ])
    expect(open.server.requests).toBe(4)
  })

  it('keys entries by the headers the answer varies on, not by request id', async () => {
    open.server = await startServer((req, res) =>
      json(res, 200, { lang: req.headers['accept-language'] }, { vary: 'Accept-Language' }),
    )
    open.client = createUpstreamClient({ baseUrl: open.server.origin, cache: { ttlMs: 10_000 } })
    await open.client.get('/x', { headers: { 'accept-language': 'en' }, requestId: 'a' })
    await open.client.get('/x', { headers: { 'accept-language': 'en' }, requestId: 'b' })
    expect(await open.client.get('/x', { headers: { 'accept-language': 'fr' } })).toEqual({
      lang: 'fr',
    })
    expect(open.server.requests).toBe(2)
  })

  it('bounds the number of entries', async () => {
    open.server = await startServer((req, res, n) => json(res, 200, { url: req.url, n }))
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      cache: { ttlMs: 10_000, max: 2 },
    })
    await open.client.get('/r/a')
    await open.client.get('/r/b')
    await open.client.get('/c') // evicts /a
    await open.client.get('/c')
    await open.client.get('/r/a')
    expect(open.server.requests).toBe(4)
  })

  it('bounds the cached bytes', async () => {
    open.server = await startServer((req, res) =>
      json(res, 200, { pad: 'x'.repeat(100), url: req.url }),
    )
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      cache: { ttlMs: 10_000, maxBytes: 250 },
    })
    await open.client.get('/r/a')
    await open.client.get('/r/b')
    await open.client.get('/c') // ~120 bytes each: /a is evicted to stay under 250
    await open.client.get('/r/b')
    await open.client.get('/r/a')
    expect(open.server.requests).toBe(4)
  })

  it('does not cache errors or writes', async () => {
    open.server = await startServer((req, res, n) =>
      n === 1 ? json(res, 404, {}) : json(res, 200, { method: req.method, n }),
    )
    open.client = createUpstreamClient({ baseUrl: open.server.origin, cache: { ttlMs: 10_000 } })
    await expect(open.client.get('/x')).rejects.toMatchObject({ status: 404 })
    expect(await open.client.get('/x')).toEqual({ method: 'GET', n: 2 })
    await open.client.post('/x', {})
    await open.client.post('/x', {})
    expect(open.server.requests).toBe(4)
  })
})

describe('stale-if-error', () => {
  it('serves an expired entry when the upstream fails', async () => {
    const clock = new TestClock()
    let healthy = true
    open.server = await startServer((_req, res, n) =>
      healthy ? json(res, 200, { n }) : json(res, 500, {}),
    )
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      clock,
      retry: false,
      cache: { ttlMs: 1_000, staleIfError: true },
    })
    const hits: boolean[] = []
    open.client.onCacheHit((e) => hits.push(e.stale))
    await open.client.get('/x')
    clock.advance(5_000)
    healthy = false
    expect(await open.client.get('/x')).toEqual({ n: 1 })
    expect(hits).toEqual([true])
    expect(open.server.requests).toBe(2)
  })

  it('serves an expired entry while the circuit is open', async () => {
    const clock = new TestClock()
    let healthy = true
    open.server = await startServer((req, res, n) =>
      healthy ? json(res, 200, { url: req.url, n }) : json(res, 503, {}),
    )
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      clock,
      retry: false,
      breaker: { failureThreshold: 1 },
      cache: { ttlMs: 1_000, staleIfError: true },
    })
    await open.client.get('/r/a')
    healthy = false
    await expect(open.client.get('/r/b')).rejects.toMatchObject({ status: 503 })
    expect(open.client.circuitState).toBe('open')
    clock.advance(5_000)
    expect(await open.client.get('/r/a')).toEqual({ url: '/r/a', n: 1 })
    expect(open.server.requests).toBe(2)
  })

  it('does not hide a 404 behind a stale entry, nor serve stale when disabled', async () => {
    const clock = new TestClock()
    let status = 200
    open.server = await startServer((_req, res, n) => json(res, status, { n }))
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      clock,
      retry: false,
      cache: { ttlMs: 1_000, staleIfError: true },
    })
    await open.client.get('/x')
    clock.advance(5_000)
    status = 404
    await expect(open.client.get('/x')).rejects.toMatchObject({ status: 404 })
    await open.client.close()
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      clock,
      cache: { ttlMs: 1_000 },
    })
    status = 200
    await open.client.get('/x')
    clock.advance(5_000)
    status = 500
    await expect(open.client.get('/x', { deadlineMs: 1 })).rejects.toMatchObject({ status: 500 })
  })

  it('rejects an already-aborted GET without a request or a cache miss', async () => {
    open.server = await startServer((_req, res) => json(res, 200, { ok: true }))
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      cache: { ttlMs: 1_000 },
      connections: 1, // one socket: a request sent for /x would reach the server before /y
    })
    const misses: string[] = []
    open.client.onCacheMiss((e) => misses.push(e.key))
    await expect(open.client.get('/x', { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'UPSTREAM_ABORTED',
    })
    await open.client.get('/y')
    expect(misses).toEqual(['/y'])
    expect(open.server.log.map((r) => r.url)).toEqual(['/y'])
  })

  it('releases a coalesced caller whose signal fires, without cancelling the others', async () => {
    let release: (() => void) | undefined
    open.server = await startServer((_req, res) => {
      release = () => json(res, 200, { ok: true })
    })
    open.client = createUpstreamClient({ baseUrl: open.server.origin, cache: { ttlMs: 1_000 } })
    const controller = new AbortController()
    const first = open.client.get('/x', { signal: controller.signal }).catch((e: unknown) => e)
    const second = open.client.get('/x')
    await vi.waitFor(() => expect(release).toBeDefined())
    controller.abort()
    expect(await first).toMatchObject({ code: 'UPSTREAM_ABORTED' })
    release?.()
    expect(await second).toEqual({ ok: true })
    expect(open.server.requests).toBe(1)
  })
})
