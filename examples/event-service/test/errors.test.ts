import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { startStack, type TestStack } from './helpers.js'

describe('error mapping through the service', () => {
  let stack: TestStack | undefined
  afterEach(async () => {
    await stack?.close()
    stack = undefined
  })

  it('opens the circuit after 3 failures, then answers 503 + Retry-After without calling upstream', async () => {
    stack = await startStack({
      mock: { mode: 'down', retryAfterSeconds: 7 },
      config: {
        upstream: { retries: 0 },
        breaker: { failureThreshold: 3, windowMs: 60_000, resetTimeoutMs: 30_000 },
      },
    })
    const { app } = stack.service
    for (let i = 0; i < 3; i++) {
      const res = await app.inject({ method: 'GET', url: '/getUsers' })
      expect(res.statusCode).toBe(503)
      // The upstream's own Retry-After (7 s) is passed on.
      expect(res.headers['retry-after']).toBe('7')
    }
    expect(stack.service.client.circuitState).toBe('open')
    const upstreamCalls = stack.mock.calls('getUsers')
    expect(upstreamCalls).toBe(3)

    const open = await app.inject({ method: 'GET', url: '/getUsers' })
    expect(open.statusCode).toBe(503)
    expect(open.headers['retry-after']).toBe('30')
    expect(open.json()).toMatchObject({
      error: 'Service Unavailable',
      retryAfterSeconds: 30,
      code: 'UPSTREAM_CIRCUIT_OPEN',
    })
    // Breakers are per operation: getUsers' open circuit does not black out the other routes.
    // They still reach the (down) upstream and fail with its own 503 and Retry-After.
    const page = await app.inject({ method: 'GET', url: '/getEventsByUserId/1' })
    expect(page.statusCode).toBe(503)
    expect(page.headers['retry-after']).toBe('7')
    const write = await app.inject({
      method: 'POST',
      url: '/addEvent',
      payload: { name: 'a', userId: '1' },
    })
    expect(write.statusCode).toBe(503)
    expect(write.headers['retry-after']).toBe('7')
    expect(stack.mock.calls('getUsers')).toBe(upstreamCalls)
    expect(stack.mock.calls('getUserById')).toBe(1)
    expect(stack.mock.calls('addEvent')).toBe(1)
    expect(stack.service.client.circuitStates()).toEqual({
      getUsers: 'open',
      getUserById: 'closed',
      addEvent: 'closed',
    })

    const ready = await app.inject({ method: 'GET', url: '/readyz' })
    expect(ready.json()).toEqual({
      status: 'degraded',
      upstream: { name: 'events', circuit: 'open' },
    })
  })

  it('answers 504 when the upstream does not answer in time', async () => {
    stack = await startStack({
      mock: { mode: 'slow', delays: { default: 0, getEventById: 0, slowExtra: 400 } },
      config: { upstream: { retries: 0, timeoutMs: 40, deadlineMs: 80 } },
    })
    const res = await stack.service.app.inject({ method: 'GET', url: '/getUsers' })
    expect(res.statusCode).toBe(504)
    expect(res.json()).toMatchObject({ error: 'Gateway Timeout', code: 'UPSTREAM_TIMEOUT' })
  })

  it('answers 503 + Retry-After when the upstream cannot be reached', async () => {
    stack = await startStack({
      // Port 1 on loopback: connection refused, immediately.
      config: { upstreamBase: 'http://127.0.0.1:1', upstream: { retries: 0 } },
    })
    const res = await stack.service.app.inject({ method: 'GET', url: '/getEvents' })
    expect(res.statusCode).toBe(503)
    expect(res.headers['retry-after']).toBe('1')
    expect(res.json()).toMatchObject({ code: 'UPSTREAM_NETWORK', retryAfterSeconds: 1 })
  })

  it('answers 502, not 500, when the upstream answers 200 with the wrong shape', async () => {
    // A user without userName/email/events and an event without id: valid JSON, wrong shape.
    const upstream = createServer((req, res) => {
      res.setHeader('content-type', 'application/json')
      res.end(req.url === '/getUsers' ? '[{"id":"1"}]' : '[{"name":"x"}]')
    })
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = upstream.address() as AddressInfo
      stack = await startStack({
        config: { upstreamBase: `http://127.0.0.1:${port}`, upstream: { retries: 0 } },
      })
      for (const url of ['/getUsers', '/getEvents']) {
        const res = await stack.service.app.inject({ method: 'GET', url })
        expect(res.statusCode).toBe(502)
        expect(res.json()).toMatchObject({ error: 'Bad Gateway', code: 'UPSTREAM_INVALID_BODY' })
      }
    } finally {
      await stack?.close()
      stack = undefined
      upstream.closeAllConnections()
      await new Promise((resolve) => upstream.close(resolve))
    }
  })

  it('lists events that failed in X-Missing-Event-Ids and still answers the rest', async () => {
    stack = await startStack({
      config: { upstream: { retries: 0 }, breaker: { failureThreshold: 100 } },
    })
    const { app } = stack.service
    // Warm the user and event 1, then take the upstream down: event 2 cannot be fetched.
    expect(
      (await app.inject({ method: 'GET', url: '/getEventsByUserId/1?limit=1' })).statusCode,
    ).toBe(200)
    stack.mock.setMode('down')

    const res = await app.inject({ method: 'GET', url: '/getEventsByUserId/1' })
    expect(res.statusCode).toBe(200)
    expect((res.json() as { id: string }[]).map((e) => e.id)).toEqual(['1'])
    expect(res.headers['x-missing-event-ids']).toBe('2')
    expect(res.headers['x-total-count']).toBe('2')

    const page = await app.inject({ method: 'GET', url: '/users/1/events' })
    expect(page.json()).toMatchObject({
      items: [{ id: '1' }],
      missing: [{ id: '2', code: 'UPSTREAM_HTTP_STATUS' }],
    })
  })
})
