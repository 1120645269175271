import type http from 'node:http'
import { describe, expect, it, vi } from 'vitest'
import {
  type ConcurrencyLimitError,
  createUpstreamClient,
  InvalidOptionError,
  isUpstreamErrorCode,
  type LimitChangeEvent,
} from '../src/index.js'
import { closeAfterEach, json, startServer, TestClock } from './helpers.js'

const open = closeAfterEach()

/** A server that holds every request until the test answers it. */
async function heldServer() {
  const held: http.ServerResponse[] = []
  let inFlight = 0
  let highWater = 0
  const server = await startServer((_req, res) => {
    inFlight++
    highWater = Math.max(highWater, inFlight)
    res.once('finish', () => inFlight--)
    held.push(res)
  })
  return {
    server,
    held,
    get highWater() {
      return highWater
    },
    /** Answers every held request with `status`. */
    answerAll(status = 200) {
      for (const res of held.splice(0)) json(res, status, { ok: status < 400 })
    },
  }
}

describe('adaptiveLimit options', () => {
  it('is off by default; true takes the defaults', () => {
    const off = createUpstreamClient({ baseUrl: 'http://127.0.0.1:1' })
    expect(off.limit('GET /x')).toBeUndefined()
    const on = createUpstreamClient({ baseUrl: 'http://127.0.0.1:1', adaptiveLimit: true })
    expect(on.limit('GET /x')).toBe(20)
    const small = createUpstreamClient({
      baseUrl: 'http://127.0.0.1:1',
      connections: 8,
      adaptiveLimit: true,
    })
    // maxLimit defaults to the pool size, and the initial limit fits under it.
    expect(small.limit('GET /x')).toBe(8)
  })

  it.each([
    [{ minLimit: 0 }, 'Expected `adaptiveLimit.minLimit` to be an integer >= 1, got 0'],
    [
      { minLimit: 5, maxLimit: 4 },
      'Expected `adaptiveLimit.maxLimit` to be an integer >= 5, got 4',
    ],
    [{ initialLimit: 60 }, 'Expected `adaptiveLimit.initialLimit` to be <= maxLimit (50), got 60'],
    [{ tolerance: 0.9 }, 'Expected `adaptiveLimit.tolerance` to be a finite number >= 1, got 0.9'],
    [{ smoothing: 0 }, 'Expected `adaptiveLimit.smoothing` to be a number in (0, 1], got 0'],
    [{ maxQueued: -1 }, 'Expected `adaptiveLimit.maxQueued` to be an integer >= 0, got -1'],
    [{ gradient: 2 }, 'Unknown option `adaptiveLimit.gradient`; expected one of'],
    ['on', 'Expected `adaptiveLimit` to be an object, true or false, got "on"'],
  ])('rejects %j', (adaptiveLimit, message) => {
    const create = () =>
      createUpstreamClient({ baseUrl: 'http://127.0.0.1:1', adaptiveLimit: adaptiveLimit as never })
    expect(create).toThrow(InvalidOptionError)
    expect(create).toThrow(message)
  })
})

describe('adaptive concurrency limit (real server, injected clock)', () => {
  it('learns from round-trip times: shrinks when the upstream slows, grows back when it heals', async () => {
    const clock = new TestClock()
    const upstream = await heldServer()
    open.server = upstream.server
    const client = createUpstreamClient({
      baseUrl: upstream.server.origin,
      clock,
      retry: false,
      breaker: false,
      adaptiveLimit: { initialLimit: 10, minLimit: 2, maxLimit: 40, maxQueued: 100 },
    })
    open.client = client
    const changes: LimitChangeEvent[] = []
    client.onLimitChange((e) => changes.push(e))
    /** One round: 40 calls offered, the upstream answers each wave after `rttMs`. */
    const round = async (rttMs: number) => {
      let done = false
      const calls = Promise.all(Array.from({ length: 40 }, () => client.get('/getEventById/1')))
      void calls.then(() => {
        done = true
      })
      for (;;) {
        await vi.waitFor(() => expect(done || upstream.held.length > 0).toBe(true))
        if (done) break
        clock.advance(rttMs)
        upstream.answerAll()
      }
      return client.limit('GET /getEventById') as number
    }
    let limit = 10
    for (let i = 0; i < 5; i++) limit = await round(10)
    const healthy = limit
    expect(healthy).toBeGreaterThan(10)
    for (let i = 0; i < 5; i++) limit = await round(60)
    const slow = limit
    expect(slow).toBeLessThan(healthy)
    for (let i = 0; i < 5; i++) limit = await round(10)
    expect(limit).toBeGreaterThan(slow)
    // The upstream never saw more attempts at once than the limit allowed at its highest.
    expect(upstream.highWater).toBeLessThanOrEqual(Math.max(...changes.map((c) => c.limit), 10))
    expect(changes[0]).toMatchObject({ operation: 'GET /getEventById', previous: 10 })
  })

  it('a timeout is the strongest signal: the limit drops even when no RTT was seen before', async () => {
    const clock = new TestClock()
    open.server = await startServer(() => {
      // hangs: every attempt times out
    })
    const client = createUpstreamClient({
      baseUrl: open.server.origin,
      clock,
      timeoutMs: 100,
      retry: false,
      breaker: false,
      adaptiveLimit: { initialLimit: 20, minLimit: 2, maxLimit: 40 },
    })
    open.client = client
    const calls = Array.from({ length: 20 }, () => client.get('/slow').catch((e: unknown) => e))
    await vi.waitFor(() => expect(open.server?.requests).toBe(20))
    clock.advance(100)
    const errors = await Promise.all(calls)
    expect(errors.every((e) => isUpstreamErrorCode(e, 'UPSTREAM_TIMEOUT'))).toBe(true)
    // Each drop: limit × (1 − 0.2) + 0.2 × (0.5 × limit + 4), while at least half are in flight.
    expect(client.limit('GET /slow')).toBeLessThanOrEqual(14)
    expect(client.limit('GET /slow')).toBeGreaterThanOrEqual(2)
  })

  it('a call over the limit waits for a slot, FIFO, and the upstream never sees more than the limit', async () => {
    const upstream = await heldServer()
    open.server = upstream.server
    const client = createUpstreamClient({
      baseUrl: upstream.server.origin,
      breaker: false,
      adaptiveLimit: { initialLimit: 2, minLimit: 2, maxLimit: 2 },
    })
    open.client = client
    const results = Promise.all([1, 2, 3, 4, 5].map((id) => client.get(`/getEventById/${id}`)))
    await vi.waitFor(() => expect(upstream.held.length).toBe(2))
    for (let i = 0; i < 2; i++) {
      upstream.answerAll()
      await vi.waitFor(() => expect(upstream.held.length).toBeGreaterThan(0))
    }
    upstream.answerAll()
    await results
    expect(upstream.server.log.map((r) => r.url)).toEqual([
      '/getEventById/1',
      '/getEventById/2',
      '/getEventById/3',
      '/getEventById/4',
      '/getEventById/5',
    ])
    expect(upstream.highWater).toBe(2)
  })

  it('a full queue fails fast with ConcurrencyLimitError: not retried, not a breaker failure', async () => {
    const upstream = await heldServer()
    open.server = upstream.server
    const client = createUpstreamClient({
      baseUrl: upstream.server.origin,
      breaker: { failureThreshold: 1 },
      retry: { retries: 3, minDelayMs: 0 },
      adaptiveLimit: { initialLimit: 1, minLimit: 1, maxLimit: 1, maxQueued: 1 },
    })
    open.client = client
    const first = client.get('/getEventById/1')
    const queued = client.get('/getEventById/2')
    await vi.waitFor(() => expect(upstream.held.length).toBe(1))
    const errors = await Promise.all(
      Array.from({ length: 20 }, () => client.get('/getEventById/3').catch((e: unknown) => e)),
    )
    for (const error of errors) {
      expect(isUpstreamErrorCode(error, 'UPSTREAM_CIRCUIT_OPEN')).toBe(true)
      const limited = error as ConcurrencyLimitError
      expect(limited).toMatchObject({
        operation: 'GET /getEventById',
        limit: 1,
        attempts: 0,
        name: 'ConcurrencyLimitError',
      })
      expect(limited.retryAfterMs).toBeGreaterThanOrEqual(1)
      expect(limited.message).toContain('its queue is full')
    }
    expect(client.circuitState).toBe('closed')
    upstream.answerAll()
    await vi.waitFor(() => expect(upstream.held.length).toBe(1))
    upstream.answerAll()
    await expect(first).resolves.toEqual({ ok: true })
    await expect(queued).resolves.toEqual({ ok: true })
    expect(upstream.server.requests).toBe(2)
  })

  it('a queued call leaves at its deadline, or when its caller aborts', async () => {
    const clock = new TestClock()
    const upstream = await heldServer()
    open.server = upstream.server
    const client = createUpstreamClient({
      baseUrl: upstream.server.origin,
      clock,
      breaker: false,
      adaptiveLimit: { initialLimit: 1, minLimit: 1, maxLimit: 1 },
    })
    open.client = client
    const first = client.get('/a/1', { deadlineMs: 10_000 })
    await vi.waitFor(() => expect(upstream.held.length).toBe(1))
    const timed = client.get('/a/2', { deadlineMs: 300 }).catch((e: unknown) => e)
    const controller = new AbortController()
    const aborted = client.get('/a/3', { signal: controller.signal }).catch((e: unknown) => e)
    controller.abort()
    expect(await aborted).toMatchObject({ code: 'UPSTREAM_ABORTED', attempts: 0 })
    clock.advance(300)
    const late = (await timed) as ConcurrencyLimitError
    expect(late.code).toBe('UPSTREAM_CIRCUIT_OPEN')
    expect(late.message).toContain('no slot before its deadline')
    upstream.answerAll()
    await expect(first).resolves.toEqual({ ok: true })
    expect(upstream.server.requests).toBe(1)
  })

  it('refuses at once a wait that would outlast the deadline (the queue turns over once per RTT)', async () => {
    const clock = new TestClock()
    const upstream = await heldServer()
    open.server = upstream.server
    const client = createUpstreamClient({
      baseUrl: upstream.server.origin,
      clock,
      breaker: false,
      adaptiveLimit: { initialLimit: 1, minLimit: 1, maxLimit: 1 },
    })
    open.client = client
    // One sample: a round trip of 100 ms.
    const first = client.get('/op/0')
    await vi.waitFor(() => expect(upstream.held.length).toBe(1))
    clock.advance(100)
    upstream.answerAll()
    await first
    const busy = client.get('/op/1')
    await vi.waitFor(() => expect(upstream.held.length).toBe(1))
    // With 250 ms left: the 1st waiter needs ~100 ms, the 2nd ~200 ms, the 3rd ~300 ms: refused.
    const waiters = [2, 3, 4].map((i) =>
      client.get(`/op/${i}`, { deadlineMs: 250 }).catch((e: unknown) => e),
    )
    const third = (await waiters[2]) as ConcurrencyLimitError
    expect(third.code).toBe('UPSTREAM_CIRCUIT_OPEN')
    expect(third.message).toContain('its wait would outlast its deadline')
    expect(third.retryAfterMs).toBe(100)
    for (let i = 0; i < 3; i++) {
      clock.advance(50)
      upstream.answerAll()
      await vi.waitFor(() => expect(upstream.server.requests).toBe(Math.min(2 + i + 1, 4)))
    }
    upstream.answerAll()
    await busy
    expect(await waiters[0]).toEqual({ ok: true })
    expect(await waiters[1]).toEqual({ ok: true })
    expect(upstream.server.requests).toBe(4)
  })

  it('keeps one limit per operation', async () => {
    const upstream = await heldServer()
    open.server = upstream.server
    const client = createUpstreamClient({
      baseUrl: upstream.server.origin,
      breaker: false,
      adaptiveLimit: { initialLimit: 1, minLimit: 1, maxLimit: 1, maxQueued: 0 },
    })
    open.client = client
    const a = client.get('/getEventById/1')
    const b = client.get('/getUserById/1')
    await vi.waitFor(() => expect(upstream.held.length).toBe(2))
    await expect(client.get('/getEventById/2')).rejects.toMatchObject({
      code: 'UPSTREAM_CIRCUIT_OPEN',
      name: 'ConcurrencyLimitError',
    })
    upstream.answerAll()
    await Promise.all([a, b])
  })

  it('serves a stale cache entry when the limit refuses, like an open circuit', async () => {
    const clock = new TestClock()
    const upstream = await heldServer()
    open.server = upstream.server
    const client = createUpstreamClient({
      baseUrl: upstream.server.origin,
      clock,
      breaker: false,
      cache: { ttlMs: 1_000, staleIfError: true },
      adaptiveLimit: { initialLimit: 1, minLimit: 1, maxLimit: 1, maxQueued: 0 },
    })
    open.client = client
    const warm = client.get('/getEventById/1')
    await vi.waitFor(() => expect(upstream.held.length).toBe(1))
    upstream.answerAll()
    await warm
    clock.advance(2_000)
    const busy = client.get('/getEventById/2')
    await vi.waitFor(() => expect(upstream.held.length).toBe(1))
    await expect(client.get('/getEventById/1')).resolves.toEqual({ ok: true })
    upstream.answerAll()
    await busy
  })
})
