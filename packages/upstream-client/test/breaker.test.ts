import type http from 'node:http'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  type CircuitOpenError,
  createUpstreamClient,
  isUpstreamErrorCode,
  type StateChangeEvent,
  type UpstreamClient,
} from '../src/index.js'
import { json, startServer, TestClock, type TestServer } from './helpers.js'

let server: TestServer | undefined
let client: UpstreamClient | undefined
afterEach(async () => {
  // Server first: dropping its sockets ends requests a failed test left hanging, so the pool's
  // graceful close cannot wait for them.
  await server?.close()
  await client?.close()
  client = undefined
  server = undefined
})

/** A server whose answer the test flips: 200 while `healthy`, 500 otherwise. */
async function flipServer() {
  const state = { healthy: true }
  server = await startServer((_req, res) =>
    state.healthy ? json(res, 200, { ok: true }) : json(res, 500, { error: 'down' }),
  )
  return state
}

describe('circuit breaker trip rule', () => {
  it('opens at exactly the third failure inside the window, even after 1000 successes', async () => {
    const clock = new TestClock()
    const upstream = await flipServer()
    client = createUpstreamClient({
      baseUrl: (server as TestServer).origin,
      clock,
      retry: false,
      breaker: { failureThreshold: 3, windowMs: 30_000 },
    })
    for (let i = 0; i < 1000; i++) await client.get('/x')
    upstream.healthy = false
    await expect(client.get('/x')).rejects.toMatchObject({ status: 500 })
    clock.advance(10_000)
    await expect(client.get('/x')).rejects.toMatchObject({ status: 500 })
    expect(client.circuitState).toBe('closed')
    clock.advance(10_000)
    await expect(client.get('/x')).rejects.toMatchObject({ status: 500 })
    expect(client.circuitState).toBe('open')
  })

  it('does not open when three failures are spread over more than the window', async () => {
    const clock = new TestClock()
    const upstream = await flipServer()
    client = createUpstreamClient({
      baseUrl: (server as TestServer).origin,
      clock,
      retry: false,
      breaker: { failureThreshold: 3, windowMs: 30_000 },
    })
    upstream.healthy = false
    for (let i = 0; i < 6; i++) {
      await expect(client.get('/x')).rejects.toMatchObject({ status: 500 })
      clock.advance(15_001)
    }
    expect(client.circuitState).toBe('closed')
  })

  it('does not count 4xx as failures by default, and accepts a custom isFailure', async () => {
    server = await startServer((_req, res) => json(res, 404, {}))
    client = createUpstreamClient({ baseUrl: server.origin, retry: false })
    for (let i = 0; i < 5; i++)
      await expect(client.get('/x')).rejects.toMatchObject({ status: 404 })
    expect(client.circuitState).toBe('closed')
    await client.close()
    client = createUpstreamClient({
      baseUrl: server.origin,
      retry: false,
      breaker: { isFailure: (e) => e.status === 404 },
    })
    for (let i = 0; i < 3; i++)
      await expect(client.get('/x')).rejects.toMatchObject({ status: 404 })
    expect(client.circuitState).toBe('open')
  })

  it('fails fast while open: the server sees no request and the error carries retryAfterMs', async () => {
    const clock = new TestClock()
    await flipServer().then((s) => {
      s.healthy = false
    })
    client = createUpstreamClient({
      baseUrl: (server as TestServer).origin,
      clock,
      retry: false,
      breaker: { resetTimeoutMs: 10_000 },
    })
    for (let i = 0; i < 3; i++) await client.get('/x').catch(() => undefined)
    expect(client.circuitState).toBe('open')
    const seen = server?.requests
    clock.advance(4_000)
    const error = (await client.get('/x').catch((e: unknown) => e)) as CircuitOpenError
    expect(isUpstreamErrorCode(error, 'UPSTREAM_CIRCUIT_OPEN')).toBe(true)
    expect(error.retryAfterMs).toBe(6_000)
    for (let i = 0; i < 50; i++) await client.get('/x').catch(() => undefined)
    expect(server?.requests).toBe(seen)
  })

  it('does not retry into an open circuit', async () => {
    await flipServer().then((s) => {
      s.healthy = false
    })
    client = createUpstreamClient({
      baseUrl: (server as TestServer).origin,
      retry: { retries: 5, minDelayMs: 1, jitter: false },
      breaker: { failureThreshold: 2 },
    })
    const error = await client.get('/x').catch((e: unknown) => e)
    expect(isUpstreamErrorCode(error, 'UPSTREAM_CIRCUIT_OPEN')).toBe(true)
    expect(server?.requests).toBe(2)
  })
})

describe('circuit breaker recovery', () => {
  /** Opens the circuit of a client with a 20 ms reset timeout; returns the state log. */
  async function openCircuit(options: { maxQueued?: number } = {}) {
    const states: string[] = []
    client = createUpstreamClient({
      baseUrl: (server as TestServer).origin,
      retry: false,
      breaker: { failureThreshold: 1, resetTimeoutMs: 20, ...options },
    })
    client.onStateChange((e: StateChangeEvent) => states.push(`${e.from}->${e.to}`))
    return states
  }

  it('half-opens after the reset timeout and closes after one successful probe', async () => {
    const upstream = await flipServer()
    upstream.healthy = false
    const states = await openCircuit()
    await client?.get('/x').catch(() => undefined)
    expect(client?.circuitState).toBe('open')
    upstream.healthy = true
    await vi.waitFor(() => expect(client?.circuitState).toBe('halfOpen'))
    await expect(client?.get('/x')).resolves.toEqual({ ok: true })
    expect(client?.circuitState).toBe('closed')
    expect(states).toEqual(['closed->open', 'open->halfOpen', 'halfOpen->closed'])
  })

  it('lets exactly one probe through while half-open', async () => {
    const held: http.ServerResponse[] = []
    let fail = true
    server = await startServer((_req, res) => {
      if (fail) json(res, 500, {})
      else held.push(res)
    })
    await openCircuit()
    await client?.get('/x').catch(() => undefined)
    fail = false
    await vi.waitFor(() => expect(client?.circuitState).toBe('halfOpen'))
    const probe = client?.get('/probe')
    const others = await Promise.all(
      [1, 2, 3].map(() => client?.get('/x').catch((e: unknown) => e)),
    )
    for (const e of others) expect(isUpstreamErrorCode(e, 'UPSTREAM_CIRCUIT_OPEN')).toBe(true)
    await vi.waitFor(() => expect(held).toHaveLength(1))
    json(held[0] as http.ServerResponse, 200, { probe: true })
    await expect(probe).resolves.toEqual({ probe: true })
    expect(server.requests).toBe(2)
  })

  it('re-opens when the probe fails', async () => {
    const upstream = await flipServer()
    upstream.healthy = false
    const states = await openCircuit()
    await client?.get('/x').catch(() => undefined)
    await vi.waitFor(() => expect(client?.circuitState).toBe('halfOpen'))
    await expect(client?.get('/x')).rejects.toMatchObject({ status: 500 })
    expect(client?.circuitState).toBe('open')
    expect(states).toEqual(['closed->open', 'open->halfOpen', 'halfOpen->open'])
  })

  it('ramps traffic back: the in-flight allowance doubles per success, excess calls queue', async () => {
    const held: http.ServerResponse[] = []
    let mode: 'fail' | 'ok' | 'hold' = 'fail'
    server = await startServer((_req, res) => {
      if (mode === 'fail') return json(res, 500, {})
      if (mode === 'ok') return json(res, 200, { ok: true })
      held.push(res)
    })
    await openCircuit()
    await client?.get('/x').catch(() => undefined)
    mode = 'ok'
    await vi.waitFor(() => expect(client?.circuitState).toBe('halfOpen'))
    await client?.get('/probe') // success: closed, ramp starts at 2 in flight
    mode = 'hold'
    const calls = Array.from({ length: 10 }, () => client?.get('/x'))
    await vi.waitFor(() => expect(held).toHaveLength(2))
    await new Promise((r) => setTimeout(r, 20))
    expect(held).toHaveLength(2) // the other 8 wait in the queue, none rejected
    json(held[0] as http.ServerResponse, 200, { ok: 1 }) // success: allowance 4
    await vi.waitFor(() => expect(held).toHaveLength(5)) // 1 still held + 3 admitted = 4 in flight
    await new Promise((r) => setTimeout(r, 20))
    expect(held).toHaveLength(5)
    mode = 'ok'
    for (const res of held.slice(1)) json(res, 200, { ok: 1 })
    const results = await Promise.all(calls)
    expect(results).toHaveLength(10)
    expect(server.requests).toBe(2 + 10)
  })

  it('re-opens on any failure during the ramp and rejects the queue', async () => {
    const held: http.ServerResponse[] = []
    let mode: 'fail' | 'ok' | 'hold' = 'fail'
    server = await startServer((_req, res) => {
      if (mode === 'fail') return json(res, 500, {})
      if (mode === 'ok') return json(res, 200, { ok: true })
      held.push(res)
    })
    await openCircuit({ maxQueued: 3 })
    await client?.get('/x').catch(() => undefined)
    mode = 'ok'
    await vi.waitFor(() => expect(client?.circuitState).toBe('halfOpen'))
    await client?.get('/probe')
    mode = 'hold'
    const calls = Array.from({ length: 6 }, () => client?.get('/x').catch((e: unknown) => e))
    await vi.waitFor(() => expect(held).toHaveLength(2))
    // 2 in flight, 3 queued, the 6th exceeded maxQueued and failed fast
    expect(await calls[5]).toMatchObject({ code: 'UPSTREAM_CIRCUIT_OPEN' })
    json(held[0] as http.ServerResponse, 500, {})
    const settled = await Promise.all(calls.slice(2, 5))
    for (const e of settled) expect(isUpstreamErrorCode(e, 'UPSTREAM_CIRCUIT_OPEN')).toBe(true)
    expect(client?.circuitState).toBe('open')
    json(held[1] as http.ServerResponse, 200, {})
  })
})
