import { describe, expect, it, vi } from 'vitest'
import {
  createUpstreamClient,
  InvalidOptionError,
  isUpstreamErrorCode,
  type RateLimitStore,
  rateLimitStoreKind,
  type UpstreamClient,
  type UpstreamRateLimitedError,
} from '../src/index.js'
import { parseQuotaHeaders } from '../src/policies/rate-limit-headers.js'
import { closeAfterEach, json, startServer, TestClock, type TestServer } from './helpers.js'

const resources = closeAfterEach()
/** Registers what a test opened, for `closeAfterEach`. */
const open = {
  server: (server: TestServer) => {
    resources.server = server
    return server
  },
  client: (client: UpstreamClient) => {
    resources.client = client
    return client
  },
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection')
    },
    (error: unknown) => error,
  )
}

describe('rateLimit options', () => {
  it.each([
    [{ requestsPerSecond: -1 }, '`rateLimit.requestsPerSecond`', '-1'],
    [{ burst: 0 }, '`rateLimit.burst`', '0'],
    [{ scope: 'host' }, '`rateLimit.scope`', 'host'],
    [{ store: {} }, '`rateLimit.store`', '{}'],
    [{ replicas: 1.5 }, '`rateLimit.replicas`', '1.5'],
    [{ learn: false }, '`rateLimit.requestsPerSecond`', 'undefined'],
    [{ rps: 3 }, 'Unknown option `rateLimit.rps`', 'requestsPerSecond'],
  ])('rejects %j at creation, naming the option', (rateLimit, option, value) => {
    const create = () =>
      createUpstreamClient({ baseUrl: 'http://127.0.0.1:1', rateLimit: rateLimit as never })
    expect(create).toThrow(InvalidOptionError)
    expect(create).toThrow(option)
    expect(create).toThrow(value)
  })
})

describe('rateLimit pacing', () => {
  it('sends the burst at once and the rest as tokens refill', async () => {
    const clock = new TestClock()
    const server = open.server(await startServer((_req, res) => json(res, 200, {})))
    const client = open.client(
      createUpstreamClient({
        baseUrl: server.origin,
        clock,
        rateLimit: { requestsPerSecond: 10, burst: 2 },
      }),
    )
    const calls = Array.from({ length: 5 }, (_, i) => client.get(`/x/${i}`))
    await vi.waitFor(() => expect(server.requests).toBe(2))
    expect(clock.pendingDelays().filter((ms) => ms <= 300)).toHaveLength(3)
    clock.advance(100)
    await vi.waitFor(() => expect(server.requests).toBe(3))
    clock.advance(200)
    await vi.waitFor(() => expect(server.requests).toBe(5))
    await Promise.all(calls)
  })

  it('fails fast with UPSTREAM_RATE_LIMITED when no token comes within the deadline', async () => {
    const clock = new TestClock()
    const server = open.server(await startServer((_req, res) => json(res, 200, {})))
    const client = open.client(
      createUpstreamClient({
        baseUrl: server.origin,
        clock,
        deadlineMs: 500,
        rateLimit: { requestsPerSecond: 1, burst: 1 },
      }),
    )
    await client.get('/a')
    const error = await rejection(client.get('/b'))
    expect(isUpstreamErrorCode(error, 'UPSTREAM_RATE_LIMITED')).toBe(true)
    const limited = error as UpstreamRateLimitedError
    expect(limited.retryAfterMs).toBe(1000)
    expect(limited.status).toBeUndefined()
    expect(limited.message).not.toContain('undefined')
    expect(server.requests).toBe(1)
  })

  it('a 429 pauses the bucket, is not retried and not counted by the breaker', async () => {
    const clock = new TestClock()
    const server = open.server(
      await startServer((_req, res) => {
        res.setHeader('retry-after', '2')
        json(res, 429, { error: 'slow down' })
      }),
    )
    const client = open.client(
      createUpstreamClient({
        baseUrl: server.origin,
        clock,
        breaker: { failureThreshold: 2 },
        rateLimit: { requestsPerSecond: 100, burst: 10 },
      }),
    )
    const error = await rejection(client.get('/a'))
    expect(isUpstreamErrorCode(error, 'UPSTREAM_RATE_LIMITED')).toBe(true)
    expect((error as UpstreamRateLimitedError).status).toBe(429)
    expect((error as UpstreamRateLimitedError).retryAfterMs).toBe(2000)
    expect(server.requests).toBe(1)
    // The next call waits for the pause instead of sending into the spent quota.
    const next = client.get('/b').catch((e: unknown) => e)
    await vi.waitFor(() => expect(clock.pendingDelays()).toContain(2000))
    expect(server.requests).toBe(1)
    clock.advance(2000)
    expect(isUpstreamErrorCode(await next, 'UPSTREAM_RATE_LIMITED')).toBe(true)
    expect(server.requests).toBe(2)
    expect(client.circuitState).toBe('closed')
  })

  it('without rateLimit the same 429s are retried and open the circuit', async () => {
    const server = open.server(
      await startServer((_req, res) => {
        res.setHeader('retry-after', '0')
        json(res, 429, {})
      }),
    )
    const client = open.client(
      createUpstreamClient({
        baseUrl: server.origin,
        breaker: { failureThreshold: 2 },
        retry: { retries: 1, minDelayMs: 1, maxDelayMs: 1 },
      }),
    )
    const error = await rejection(client.get('/a'))
    expect(isUpstreamErrorCode(error, 'UPSTREAM_HTTP_STATUS')).toBe(true)
    expect(server.requests).toBe(2)
    expect(client.circuitState).toBe('open')
  })

  it('learns the rate from RateLimit-Policy and a spent window from RateLimit r=0', async () => {
    const clock = new TestClock()
    const server = open.server(
      await startServer((_req, res, n) => {
        res.setHeader('ratelimit-policy', '"default";q=2;w=1')
        res.setHeader('ratelimit', `"default";r=${n === 3 ? 0 : 1};t=3`)
        json(res, 200, {})
      }),
    )
    const client = open.client(
      createUpstreamClient({ baseUrl: server.origin, clock, rateLimit: true }),
    )
    await client.get('/1')
    // Learned 2/s with a burst of 1: the second call goes, the third waits 500 ms.
    const second = client.get('/2')
    const third = client.get('/3')
    await vi.waitFor(() => expect(server.requests).toBe(2))
    await second
    expect(clock.pendingDelays()).toContain(500)
    clock.advance(500)
    await third
    expect(server.requests).toBe(3)
    // The third answer said r=0, t=3: the window is spent for 3 s.
    const fourth = client.get('/4')
    await vi.waitFor(() => expect(clock.pendingDelays()).toContain(3000))
    expect(server.requests).toBe(3)
    clock.advance(3000)
    await fourth
    expect(server.requests).toBe(4)
  })

  it('stale-if-error answers a rate-limited GET from the expired entry, with no request sent', async () => {
    const clock = new TestClock()
    const server = open.server(await startServer((_req, res) => json(res, 200, { v: 1 })))
    const client = open.client(
      createUpstreamClient({
        baseUrl: server.origin,
        clock,
        deadlineMs: 500,
        cache: { ttlMs: 100, staleIfError: true },
        rateLimit: { requestsPerSecond: 1, burst: 1 },
      }),
    )
    expect(await client.get('/u')).toEqual({ v: 1 })
    clock.advance(200)
    // The entry expired, and the next token is 800 ms away, past the 500 ms deadline.
    expect(await client.get('/u')).toEqual({ v: 1 })
    expect(server.requests).toBe(1)
    const miss = await rejection(client.get('/other'))
    expect(isUpstreamErrorCode(miss, 'UPSTREAM_RATE_LIMITED')).toBe(true)
  })

  it('a store that is down falls back to the local bucket at rate / replicas', async () => {
    const clock = new TestClock()
    let asked = 0
    const store: RateLimitStore = {
      kind: rateLimitStoreKind,
      take: async () => {
        asked++
        throw new Error('connection refused')
      },
      pause: async () => {},
    }
    const server = open.server(await startServer((_req, res) => json(res, 200, {})))
    const client = open.client(
      createUpstreamClient({
        baseUrl: server.origin,
        clock,
        rateLimit: { requestsPerSecond: 30, burst: 1, replicas: 3, store },
      }),
    )
    const calls = [client.get('/1'), client.get('/2')]
    await vi.waitFor(() => expect(server.requests).toBe(1))
    // 30/s over 3 replicas is 10/s locally: the next token in 100 ms.
    await vi.waitFor(() => expect(clock.pendingDelays()).toContain(100))
    clock.advance(100)
    await Promise.all(calls)
    expect(server.requests).toBe(2)
    expect(asked).toBe(2)
  })
})

describe('parseQuotaHeaders', () => {
  it('reads the IETF draft fields, the most restrictive policy winning', () => {
    expect(
      parseQuotaHeaders(
        {
          'ratelimit-policy': '"burst";q=100;w=1, "day";q=86400;w=86400',
          ratelimit: '"burst";r=40;t=1, "day";r=7;t=600',
        },
        0,
      ),
    ).toEqual({ ratePerSecond: 1, quota: 86400, remaining: 7, resetMs: 600_000 })
  })

  it('reads X-RateLimit-* with a relative or an epoch reset, and ignores junk', () => {
    expect(
      parseQuotaHeaders(
        { 'x-ratelimit-limit': '60', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '5' },
        0,
      ),
    ).toEqual({ quota: 60, remaining: 0, resetMs: 5000 })
    expect(parseQuotaHeaders({ 'x-ratelimit-reset': '1700000010' }, 1_700_000_000_000)).toEqual({
      resetMs: 10_000,
    })
    expect(parseQuotaHeaders({ ratelimit: 'r=abc', 'x-ratelimit-remaining': '-1' }, 0)).toBe(
      undefined,
    )
  })
})
