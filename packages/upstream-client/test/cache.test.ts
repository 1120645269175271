import { afterEach, describe, expect, it, vi } from 'vitest'
import { createUpstreamClient, type UpstreamClient } from '../src/index.js'
import { json, startServer, TestClock, type TestServer } from './helpers.js'

let server: TestServer | undefined
let client: UpstreamClient | undefined
afterEach(async () => {
  await server?.close()
  await client?.close()
  client = undefined
  server = undefined
})

describe('cache', () => {
  it('serves a second GET from the cache and reports hits and misses', async () => {
    server = await startServer((_req, res, n) => json(res, 200, { n }))
    client = createUpstreamClient({ baseUrl: server.origin, cache: { ttlMs: 1_000 } })
    const events: string[] = []
    client.onCacheHit((e) => events.push(`hit ${e.key} ${e.stale}`))
    client.onCacheMiss((e) => events.push(`miss ${e.key}`))
    expect(await client.get('/getEventById/1')).toEqual({ n: 1 })
    expect(await client.get('/getEventById/1')).toEqual({ n: 1 })
    expect(server.requests).toBe(1)
    expect(events).toEqual(['miss /getEventById/1', 'hit /getEventById/1 false'])
  })

  it('expires entries after ttlMs (on the injected clock)', async () => {
    const clock = new TestClock()
    server = await startServer((_req, res, n) => json(res, 200, { n }))
    client = createUpstreamClient({ baseUrl: server.origin, clock, cache: { ttlMs: 1_000 } })
    await client.get('/x')
    clock.advance(999)
    expect(await client.get('/x')).toEqual({ n: 1 })
    clock.advance(2)
    expect(await client.get('/x')).toEqual({ n: 2 })
    expect(server.requests).toBe(2)
  })

  it('coalesces 100 concurrent identical GETs into one upstream call', async () => {
    server = await startServer((_req, res, n) => {
      setTimeout(() => json(res, 200, { n }), 20)
    })
    client = createUpstreamClient({ baseUrl: server.origin, cache: { ttlMs: 1_000 } })
    const results = await Promise.all(Array.from({ length: 100 }, () => client?.get('/hot')))
    expect(server.requests).toBe(1)
    expect(new Set(results.map((r) => JSON.stringify(r)))).toEqual(new Set(['{"n":1}']))
  })

  it('lets a call opt out of the cache and coalescing', async () => {
    server = await startServer((_req, res, n) => json(res, 200, { n }))
    client = createUpstreamClient({ baseUrl: server.origin, cache: { ttlMs: 10_000 } })
    await client.get('/x')
    expect(await client.get('/x', { cache: false })).toEqual({ n: 2 })
    await Promise.all([client.get('/y', { cache: false }), client.get('/y', { cache: false })])
    expect(server.requests).toBe(4)
  })

  it('keys entries by per-call headers but not by request id', async () => {
    server = await startServer((req, res) =>
      json(res, 200, { lang: req.headers['accept-language'] }),
    )
    client = createUpstreamClient({ baseUrl: server.origin, cache: { ttlMs: 10_000 } })
    await client.get('/x', { headers: { 'accept-language': 'en' }, requestId: 'a' })
    await client.get('/x', { headers: { 'accept-language': 'en' }, requestId: 'b' })
    expect(await client.get('/x', { headers: { 'accept-language': 'fr' } })).toEqual({ lang: 'fr' })
    expect(server.requests).toBe(2)
  })

  it('bounds the number of entries', async () => {
    server = await startServer((req, res, n) => json(res, 200, { url: req.url, n }))
    client = createUpstreamClient({ baseUrl: server.origin, cache: { ttlMs: 10_000, max: 2 } })
    await client.get('/a')
    await client.get('/b')
    await client.get('/c') // evicts /a
    await client.get('/c')
    await client.get('/a')
    expect(server.requests).toBe(4)
  })

  it('bounds the cached bytes', async () => {
    server = await startServer((req, res) => json(res, 200, { pad: 'x'.repeat(100), url: req.url }))
    client = createUpstreamClient({
      baseUrl: server.origin,
      cache: { ttlMs: 10_000, maxBytes: 250 },
    })
    await client.get('/a')
    await client.get('/b')
    await client.get('/c') // ~120 bytes each: /a is evicted to stay under 250
    await client.get('/b')
    await client.get('/a')
    expect(server.requests).toBe(4)
  })

  it('does not cache errors or writes', async () => {
    server = await startServer((req, res, n) =>
      n === 1 ? json(res, 404, {}) : json(res, 200, { method: req.method, n }),
    )
    client = createUpstreamClient({ baseUrl: server.origin, cache: { ttlMs: 10_000 } })
    await expect(client.get('/x')).rejects.toMatchObject({ status: 404 })
    expect(await client.get('/x')).toEqual({ method: 'GET', n: 2 })
    await client.post('/x', {})
    await client.post('/x', {})
    expect(server.requests).toBe(4)
  })
})

describe('stale-if-error', () => {
  it('serves an expired entry when the upstream fails', async () => {
    const clock = new TestClock()
    let healthy = true
    server = await startServer((_req, res, n) =>
      healthy ? json(res, 200, { n }) : json(res, 500, {}),
    )
    client = createUpstreamClient({
      baseUrl: server.origin,
      clock,
      retry: false,
      cache: { ttlMs: 1_000, staleIfError: true },
    })
    const hits: boolean[] = []
    client.onCacheHit((e) => hits.push(e.stale))
    await client.get('/x')
    clock.advance(5_000)
    healthy = false
    expect(await client.get('/x')).toEqual({ n: 1 })
    expect(hits).toEqual([true])
    expect(server.requests).toBe(2)
  })

  it('serves an expired entry while the circuit is open', async () => {
    const clock = new TestClock()
    let healthy = true
    server = await startServer((req, res, n) =>
      healthy ? json(res, 200, { url: req.url, n }) : json(res, 503, {}),
    )
    client = createUpstreamClient({
      baseUrl: server.origin,
      clock,
      retry: false,
      breaker: { failureThreshold: 1 },
      cache: { ttlMs: 1_000, staleIfError: true },
    })
    await client.get('/a')
    healthy = false
    await expect(client.get('/b')).rejects.toMatchObject({ status: 503 })
    expect(client.circuitState).toBe('open')
    clock.advance(5_000)
    expect(await client.get('/a')).toEqual({ url: '/a', n: 1 })
    expect(server.requests).toBe(2)
  })

  it('does not hide a 404 behind a stale entry, nor serve stale when disabled', async () => {
    const clock = new TestClock()
    let status = 200
    server = await startServer((_req, res, n) => json(res, status, { n }))
    client = createUpstreamClient({
      baseUrl: server.origin,
      clock,
      retry: false,
      cache: { ttlMs: 1_000, staleIfError: true },
    })
    await client.get('/x')
    clock.advance(5_000)
    status = 404
    await expect(client.get('/x')).rejects.toMatchObject({ status: 404 })
    await client.close()
    client = createUpstreamClient({ baseUrl: server.origin, clock, cache: { ttlMs: 1_000 } })
    status = 200
    await client.get('/x')
    clock.advance(5_000)
    status = 500
    await expect(client.get('/x', { deadlineMs: 1 })).rejects.toMatchObject({ status: 500 })
  })

  it('releases a coalesced caller whose signal fires, without cancelling the others', async () => {
    let release: (() => void) | undefined
    server = await startServer((_req, res) => {
      release = () => json(res, 200, { ok: true })
    })
    client = createUpstreamClient({ baseUrl: server.origin, cache: { ttlMs: 1_000 } })
    const controller = new AbortController()
    const first = client.get('/x', { signal: controller.signal }).catch((e: unknown) => e)
    const second = client.get('/x')
    await vi.waitFor(() => expect(release).toBeDefined())
    controller.abort()
    expect(await first).toMatchObject({ code: 'UPSTREAM_ABORTED' })
    release?.()
    expect(await second).toEqual({ ok: true })
    expect(server.requests).toBe(1)
  })
})
