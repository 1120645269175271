import { AsyncLocalStorage } from 'node:async_hooks'
import type http from 'node:http'
import { describe, expect, it, vi } from 'vitest'
import {
  type CircuitOpenError,
  createUpstreamClient,
  isUpstreamErrorCode,
  type Logger,
  type RampChangeEvent,
  type StateChangeEvent,
} from '../src/index.js'
import {
  closeAfterEach,
  json,
  recordingLogger,
  startServer,
  TestClock,
  type TestServer,
} from './helpers.js'

const open = closeAfterEach()

/** A server whose answer the test flips: 200 while `healthy`, 500 otherwise. */
async function flipServer() {
  const state = { healthy: true }
  open.server = await startServer((_req, res) =>
    state.healthy ? json(res, 200, { ok: true }) : json(res, 500, { error: 'down' }),
  )
  return state
}

describe('circuit breaker trip rule', () => {
  it('opens at exactly the third failure inside the window, even after 1000 successes', async () => {
    const clock = new TestClock()
    const upstream = await flipServer()
    open.client = createUpstreamClient({
      baseUrl: (open.server as TestServer).origin,
      clock,
      retry: false,
      breaker: { failureThreshold: 3, windowMs: 30_000 },
    })
    for (let i = 0; i < 1000; i++) await open.client.get('/x')
    upstream.healthy = false
    await expect(open.client.get('/x')).rejects.toMatchObject({ status: 500 })
    clock.advance(10_000)
    await expect(open.client.get('/x')).rejects.toMatchObject({ status: 500 })
    expect(open.client.circuitState).toBe('closed')
    clock.advance(10_000)
    await expect(open.client.get('/x')).rejects.toMatchObject({ status: 500 })
    expect(open.client.circuitState).toBe('open')
  })

  it('does not open when three failures are spread over more than the window', async () => {
    const clock = new TestClock()
    const upstream = await flipServer()
    open.client = createUpstreamClient({
      baseUrl: (open.server as TestServer).origin,
      clock,
      retry: false,
      breaker: { failureThreshold: 3, windowMs: 30_000 },
    })
    upstream.healthy = false
    for (let i = 0; i < 6; i++) {
      await expect(open.client.get('/x')).rejects.toMatchObject({ status: 500 })
      clock.advance(15_001)
    }
    expect(open.client.circuitState).toBe('closed')
  })

  it('does not count 4xx as failures by default, and accepts a custom isFailure', async () => {
    open.server = await startServer((_req, res) => json(res, 404, {}))
    open.client = createUpstreamClient({ baseUrl: open.server.origin, retry: false })
    for (let i = 0; i < 5; i++)
      await expect(open.client.get('/x')).rejects.toMatchObject({ status: 404 })
    expect(open.client.circuitState).toBe('closed')
    await open.client.close()
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      retry: false,
      breaker: { isFailure: (e) => e.status === 404 },
    })
    for (let i = 0; i < 3; i++)
      await expect(open.client.get('/x')).rejects.toMatchObject({ status: 404 })
    expect(open.client.circuitState).toBe('open')
  })

  it('fails fast while open: the server sees no request and the error carries retryAfterMs', async () => {
    const clock = new TestClock()
    await flipServer().then((s) => {
      s.healthy = false
    })
    open.client = createUpstreamClient({
      baseUrl: (open.server as TestServer).origin,
      clock,
      retry: false,
      breaker: { resetTimeoutMs: 10_000 },
    })
    for (let i = 0; i < 3; i++) await open.client.get('/x').catch(() => undefined)
    expect(open.client.circuitState).toBe('open')
    const seen = open.server?.requests
    clock.advance(4_000)
    const error = (await open.client.get('/x').catch((e: unknown) => e)) as CircuitOpenError
    expect(isUpstreamErrorCode(error, 'UPSTREAM_CIRCUIT_OPEN')).toBe(true)
    expect(error.retryAfterMs).toBe(6_000)
    for (let i = 0; i < 50; i++) await open.client.get('/x').catch(() => undefined)
    expect(open.server?.requests).toBe(seen)
  })

  it('does not retry into an open circuit', async () => {
    await flipServer().then((s) => {
      s.healthy = false
    })
    open.client = createUpstreamClient({
      baseUrl: (open.server as TestServer).origin,
      retry: { retries: 5, minDelayMs: 1, jitter: false },
      breaker: { failureThreshold: 2 },
    })
    const error = await open.client.get('/x').catch((e: unknown) => e)
    expect(isUpstreamErrorCode(error, 'UPSTREAM_CIRCUIT_OPEN')).toBe(true)
    expect(open.server?.requests).toBe(2)
  })
})

describe('circuit breaker recovery', () => {
  /** Opens the circuit of a client with a 20 ms reset timeout; returns the state log. */
  async function openCircuit(
    options: { maxQueued?: number; rampLimit?: number } = {},
    logger?: Logger,
  ) {
    const states: string[] = []
    open.client = createUpstreamClient({
      baseUrl: (open.server as TestServer).origin,
      name: 'events',
      logger,
      retry: false,
      breaker: { failureThreshold: 1, resetTimeoutMs: 20, ...options },
    })
    open.client.onStateChange((e: StateChangeEvent) => states.push(`${e.from}->${e.to}`))
    return states
  }

  it('half-opens after the reset timeout and closes after one successful probe', async () => {
    const upstream = await flipServer()
    upstream.healthy = false
    const states = await openCircuit()
    await open.client?.get('/x').catch(() => undefined)
    expect(open.client?.circuitState).toBe('open')
    upstream.healthy = true
    await vi.waitFor(() => expect(open.client?.circuitState).toBe('halfOpen'))
    await expect(open.client?.get('/x')).resolves.toEqual({ ok: true })
    expect(open.client?.circuitState).toBe('closed')
    expect(states).toEqual(['closed->open', 'open->halfOpen', 'halfOpen->closed'])
  })

  it('lets exactly one probe through while half-open', async () => {
    const held: http.ServerResponse[] = []
    let fail = true
    open.server = await startServer((_req, res) => {
      if (fail) json(res, 500, {})
      else held.push(res)
    })
    await openCircuit()
    await open.client?.get('/x').catch(() => undefined)
    fail = false
    await vi.waitFor(() => expect(open.client?.circuitState).toBe('halfOpen'))
    const probe = open.client?.get('/x/probe')
    const others = await Promise.all(
      [1, 2, 3].map(() => open.client?.get('/x').catch((e: unknown) => e)),
    )
    for (const e of others) expect(isUpstreamErrorCode(e, 'UPSTREAM_CIRCUIT_OPEN')).toBe(true)
    await vi.waitFor(() => expect(held).toHaveLength(1))
    json(held[0] as http.ServerResponse, 200, { probe: true })
    await expect(probe).resolves.toEqual({ probe: true })
    expect(open.server.requests).toBe(2)
  })

  it('does not close the circuit when the caller aborts the probe', async () => {
    const held: http.ServerResponse[] = []
    let fail = true
    open.server = await startServer((_req, res) => {
      if (fail) json(res, 500, {})
      else held.push(res)
    })
    const states = await openCircuit()
    await open.client?.get('/x').catch(() => undefined)
    await vi.waitFor(() => expect(open.client?.circuitState).toBe('halfOpen'))
    // Already aborted: rejected without a request, and the probe slot stays free.
    const early = await open.client?.get('/x', { signal: AbortSignal.abort() }).catch((e) => e)
    expect(isUpstreamErrorCode(early, 'UPSTREAM_ABORTED')).toBe(true)
    expect(open.client?.circuitState).toBe('halfOpen')
    expect(open.server.requests).toBe(1)
    // Aborted in flight: no answer came, so the upstream is not proven healthy.
    fail = false
    const controller = new AbortController()
    const probe = open.client?.get('/x/probe', { signal: controller.signal }).catch((e) => e)
    await vi.waitFor(() => expect(held).toHaveLength(1))
    controller.abort()
    expect(isUpstreamErrorCode(await probe, 'UPSTREAM_ABORTED')).toBe(true)
    // slice: with a 20 ms reset the circuit may already be half-open again by now.
    expect(states.slice(0, 3)).toEqual(['closed->open', 'open->halfOpen', 'halfOpen->open'])
  })

  it('re-opens when the probe fails', async () => {
    const upstream = await flipServer()
    upstream.healthy = false
    const states = await openCircuit()
    await open.client?.get('/x').catch(() => undefined)
    await vi.waitFor(() => expect(open.client?.circuitState).toBe('halfOpen'))
    await expect(open.client?.get('/x')).rejects.toMatchObject({ status: 500 })
    expect(open.client?.circuitState).toBe('open')
    expect(states).toEqual(['closed->open', 'open->halfOpen', 'halfOpen->open'])
  })

  it('ramps traffic back: the in-flight allowance doubles per success, excess calls queue', async () => {
    const held: http.ServerResponse[] = []
    let mode: 'fail' | 'ok' | 'hold' = 'fail'
    open.server = await startServer((_req, res) => {
      if (mode === 'fail') return json(res, 500, {})
      if (mode === 'ok') return json(res, 200, { ok: true })
      held.push(res)
    })
    await openCircuit()
    await open.client?.get('/x').catch(() => undefined)
    mode = 'ok'
    await vi.waitFor(() => expect(open.client?.circuitState).toBe('halfOpen'))
    await open.client?.get('/x/probe') // success: closed, ramp starts at 2 in flight
    mode = 'hold'
    const calls = Array.from({ length: 10 }, () => open.client?.get('/x'))
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
    expect(open.server.requests).toBe(2 + 10)
  })

  it('a call queued in the ramp runs in its own async context, not in that of the call that freed its slot', async () => {
    const store = new AsyncLocalStorage<string>()
    open.server = await startServer((req, res) => {
      if (req.url === '/fail') json(res, 500, {})
      else setTimeout(() => json(res, 200, { ok: true }), 5)
    })
    await openCircuit({ rampLimit: 64 })
    const seen: string[] = []
    open.client?.onRequest((e) => seen.push(`${e.path} ${store.getStore()}`))
    await open.client?.get('/fail').catch(() => undefined)
    await vi.waitFor(() => expect(open.client?.circuitState).toBe('halfOpen'))
    await open.client?.get('/probe') // ramp starts: 2 in flight, the rest queue
    seen.length = 0
    const names = ['a', 'b', 'c', 'd', 'e', 'f']
    await Promise.all(names.map((n) => store.run(n, () => open.client?.get(`/${n}`))))
    expect(seen.sort()).toEqual(names.map((n) => `/${n} ${n}`))
  })

  it('re-opens on any failure during the ramp and rejects the queue', async () => {
    const held: http.ServerResponse[] = []
    let mode: 'fail' | 'ok' | 'hold' = 'fail'
    open.server = await startServer((_req, res) => {
      if (mode === 'fail') return json(res, 500, {})
      if (mode === 'ok') return json(res, 200, { ok: true })
      held.push(res)
    })
    await openCircuit({ maxQueued: 3 })
    await open.client?.get('/x').catch(() => undefined)
    mode = 'ok'
    await vi.waitFor(() => expect(open.client?.circuitState).toBe('halfOpen'))
    await open.client?.get('/x/probe')
    mode = 'hold'
    const calls = Array.from({ length: 6 }, () => open.client?.get('/x').catch((e: unknown) => e))
    await vi.waitFor(() => expect(held).toHaveLength(2))
    // 2 in flight, 3 queued, the 6th exceeded maxQueued and failed fast
    expect(await calls[5]).toMatchObject({ code: 'UPSTREAM_CIRCUIT_OPEN' })
    json(held[0] as http.ServerResponse, 500, {})
    const settled = await Promise.all(calls.slice(2, 5))
    for (const e of settled) expect(isUpstreamErrorCode(e, 'UPSTREAM_CIRCUIT_OPEN')).toBe(true)
    expect(open.client?.circuitState).toBe('open')
    json(held[1] as http.ServerResponse, 200, {})
  })
  it('a ramp call still in flight when the circuit half-opens again does not act as its probe', async () => {
    const held: http.ServerResponse[] = []
    let mode: 'fail' | 'ok' | 'hold' = 'fail'
    open.server = await startServer((_req, res) => {
      if (mode === 'fail') return json(res, 500, {})
      if (mode === 'ok') return json(res, 200, { ok: true })
      held.push(res)
    })
    const states = await openCircuit()
    await open.client?.get('/x').catch(() => undefined)
    mode = 'ok'
    await vi.waitFor(() => expect(open.client?.circuitState).toBe('halfOpen'))
    await open.client?.get('/x/probe') // closed, ramp at 2 in flight
    mode = 'hold'
    const stale = open.client?.get('/x')
    const failing = open.client?.get('/x').catch((e: unknown) => e)
    await vi.waitFor(() => expect(held).toHaveLength(2))
    json(held[1] as http.ServerResponse, 500, {}) // a ramp failure re-opens
    expect(await failing).toMatchObject({ status: 500 })
    expect(open.client?.circuitState).toBe('open')
    await vi.waitFor(() => expect(open.client?.circuitState).toBe('halfOpen'))
    json(held[0] as http.ServerResponse, 200, { stale: true }) // the old ramp's call answers late
    await expect(stale).resolves.toEqual({ stale: true })
    expect(open.client?.circuitState).toBe('halfOpen') // still waiting for a real probe
    mode = 'ok'
    await open.client?.get('/x/probe')
    expect(open.client?.circuitState).toBe('closed')
    expect(states).toEqual([
      'closed->open',
      'open->halfOpen',
      'halfOpen->closed',
      'closed->open',
      'open->halfOpen',
      'halfOpen->closed',
    ])
  })
})

describe('circuit breaker ramp events (onRampChange)', () => {
  /**
   * A server that fails, answers or holds each request by `mode`; opens a client's circuit
   * (failureThreshold 1, 20 ms reset), waits for half-open and lets the probe succeed. Returns a
   * timeline of state changes and ramp events, in the order the listeners saw them.
   */
  async function rampAfterProbe(breaker: { maxQueued?: number; rampLimit?: number } = {}) {
    const held: http.ServerResponse[] = []
    const ctl = { mode: 'fail' as 'fail' | 'ok' | 'hold' }
    open.server = await startServer((_req, res) => {
      if (ctl.mode === 'fail') return json(res, 500, {})
      if (ctl.mode === 'ok') return json(res, 200, { ok: true })
      held.push(res)
    })
    const { logger, lines } = recordingLogger()
    const timeline: string[] = []
    const ramps: RampChangeEvent[] = []
    const c = createUpstreamClient({
      baseUrl: open.server.origin,
      name: 'events',
      logger,
      retry: false,
      breaker: { failureThreshold: 1, resetTimeoutMs: 20, ...breaker },
    })
    open.client = c
    c.onStateChange((e) => timeline.push(`${e.from}->${e.to}`))
    c.onRampChange((e) => {
      ramps.push(e)
      timeline.push(`ramp ${e.phase} ${e.allowedInFlight}/${e.queued}`)
    })
    await c.get('/x').catch(() => undefined)
    expect(c.circuitState).toBe('open')
    expect(ramps).toEqual([]) // opening from closed is not a ramp
    ctl.mode = 'ok'
    await vi.waitFor(() => expect(c.circuitState).toBe('halfOpen'))
    await c.get('/x/probe')
    return { c, held, ctl, timeline, ramps, lines }
  }

  it('reports start, each doubling with the queue left, and the end at rampLimit', async () => {
    const { c, held, ctl, timeline, ramps, lines } = await rampAfterProbe({ rampLimit: 8 })
    expect(timeline).toEqual([
      'closed->open',
      'open->halfOpen',
      'halfOpen->closed',
      'ramp started 2/0',
    ])
    ctl.mode = 'hold'
    const calls = Array.from({ length: 10 }, () => c.get('/x'))
    await vi.waitFor(() => expect(held).toHaveLength(2)) // 2 in flight, 8 queued
    json(held[0] as http.ServerResponse, 200, {}) // allowance 4: 3 more let in, 5 still queued
    await vi.waitFor(() => expect(ramps).toHaveLength(2))
    expect(ramps[1]).toEqual({
      name: 'events',
      operation: 'GET /x',
      allowedInFlight: 4,
      queued: 5,
      phase: 'widened',
    })
    await vi.waitFor(() => expect(held).toHaveLength(5))
    json(held[1] as http.ServerResponse, 200, {}) // allowance 8 = rampLimit: the 5 are released
    await vi.waitFor(() => expect(ramps).toHaveLength(3))
    expect(ramps[2]).toEqual({
      name: 'events',
      operation: 'GET /x',
      allowedInFlight: Number.POSITIVE_INFINITY,
      queued: 5,
      phase: 'finished',
    })
    await vi.waitFor(() => expect(held).toHaveLength(10))
    for (const res of held.slice(2)) json(res, 200, {})
    expect(await Promise.all(calls)).toHaveLength(10)
    expect(timeline.slice(3)).toEqual([
      'ramp started 2/0',
      'ramp widened 4/5',
      'ramp finished Infinity/5',
    ])
    expect(c.circuitState).toBe('closed')

    // One info line per step, on the upstream's child logger.
    const rampLines = lines.filter((l) => l.msg === 'upstream circuit ramp changed')
    expect(rampLines.map((l) => [l.level, l.bindings, l.fields])).toEqual([
      [
        'info',
        { upstream: 'events' },
        { circuit: 'closed', operation: 'GET /x', phase: 'started', allowedInFlight: 2, queued: 0 },
      ],
      [
        'info',
        { upstream: 'events' },
        { circuit: 'closed', operation: 'GET /x', phase: 'widened', allowedInFlight: 4, queued: 5 },
      ],
      [
        'info',
        { upstream: 'events' },
        {
          circuit: 'closed',
          operation: 'GET /x',
          phase: 'finished',
          allowedInFlight: null,
          queued: 5,
        },
      ],
    ])
  })

  it('widens once per success up to the default rampLimit of 64', async () => {
    const { c, ramps } = await rampAfterProbe()
    for (let i = 0; i < 8; i++) await c.get('/x') // sequential: nothing ever queues
    expect(ramps.map((e) => [e.phase, e.allowedInFlight, e.queued])).toEqual([
      ['started', 2, 0],
      ['widened', 4, 0],
      ['widened', 8, 0],
      ['widened', 16, 0],
      ['widened', 32, 0],
      ['finished', Number.POSITIVE_INFINITY, 0],
    ])
  })

  it('reports aborted, after the circuit re-opened, with the calls it rejected', async () => {
    const { c, held, ctl, timeline, ramps, lines } = await rampAfterProbe()
    ctl.mode = 'hold'
    const calls = Array.from({ length: 5 }, () => c.get('/x').catch((e: unknown) => e))
    await vi.waitFor(() => expect(held).toHaveLength(2)) // 2 in flight, 3 queued
    json(held[0] as http.ServerResponse, 500, {})
    await vi.waitFor(() => expect(ramps).toHaveLength(2))
    expect(ramps[1]).toEqual({
      name: 'events',
      operation: 'GET /x',
      allowedInFlight: 0,
      queued: 3,
      phase: 'aborted',
    })
    // slice: with a 20 ms reset the circuit may already be half-open again by now.
    expect(timeline.slice(2, 6)).toEqual([
      'halfOpen->closed',
      'ramp started 2/0',
      'closed->open',
      'ramp aborted 0/3',
    ])
    for (const e of await Promise.all(calls.slice(2))) {
      expect(isUpstreamErrorCode(e, 'UPSTREAM_CIRCUIT_OPEN')).toBe(true)
    }
    const aborted = lines.find(
      (l) =>
        l.msg === 'upstream circuit ramp changed' &&
        l.fields !== undefined &&
        (l.fields as { phase?: string }).phase === 'aborted',
    )
    expect(aborted?.fields).toEqual({
      circuit: 'open',
      operation: 'GET /x',
      phase: 'aborted',
      allowedInFlight: 0,
      queued: 3,
    })
    json(held[1] as http.ServerResponse, 200, {})
  })

  it('lets a queued call leave on its abort or deadline, without waiting for the ramp', async () => {
    const { c, held, ctl, ramps } = await rampAfterProbe()
    ctl.mode = 'hold'
    const inFlight = [c.get('/x/a'), c.get('/x/b')]
    await vi.waitFor(() => expect(held).toHaveLength(2)) // ramp full: the next calls queue
    const controller = new AbortController()
    const aborted = c.get('/x/q1', { signal: controller.signal }).catch((e: unknown) => e)
    const late = c.get('/x/q2', { deadlineMs: 30 }).catch((e: unknown) => e)
    controller.abort()
    expect(isUpstreamErrorCode(await aborted, 'UPSTREAM_ABORTED')).toBe(true)
    const timeout = await late
    expect(isUpstreamErrorCode(timeout, 'UPSTREAM_TIMEOUT') && timeout.phase).toBe('deadline')
    // Both settled while the calls in flight still hang, and they left the queue for good.
    expect(held).toHaveLength(2)
    json(held[0] as http.ServerResponse, 200, {})
    await vi.waitFor(() => expect(ramps).toHaveLength(2))
    expect(ramps[1]).toMatchObject({ phase: 'widened', allowedInFlight: 4, queued: 0 })
    json(held[1] as http.ServerResponse, 200, {})
    await Promise.all(inFlight)
    expect(open.server?.log.map((r) => r.url)).toEqual(['/x', '/x/probe', '/x/a', '/x/b'])
  })

  it('reports aborted when the client is closed during the ramp', async () => {
    const { c, held, ctl, ramps } = await rampAfterProbe()
    ctl.mode = 'hold'
    const calls = Array.from({ length: 3 }, () => c.get('/x').catch((e: unknown) => e))
    await vi.waitFor(() => expect(held).toHaveLength(2)) // 2 in flight, 1 queued
    const closing = c.close()
    expect(ramps.map((e) => [e.phase, e.allowedInFlight, e.queued])).toEqual([
      ['started', 2, 0],
      ['aborted', 0, 1],
    ])
    expect(isUpstreamErrorCode(await calls[2], 'UPSTREAM_CIRCUIT_OPEN')).toBe(true)
    for (const res of held) json(res, 200, {})
    await closing
    await expect(c.close()).resolves.toBeUndefined() // a second close() is harmless
  })

  it('stops calling a listener once it unsubscribed', async () => {
    const { c, ramps } = await rampAfterProbe({ rampLimit: 4 })
    const seen: string[] = []
    const off = c.onRampChange((e) => seen.push(e.phase))
    off()
    await c.get('/x') // allowance 4 = rampLimit: finished
    expect(ramps.map((e) => e.phase)).toEqual(['started', 'finished'])
    expect(seen).toEqual([])
  })
})
