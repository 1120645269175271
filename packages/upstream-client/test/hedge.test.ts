import type http from 'node:http'
import { describe, expect, it, vi } from 'vitest'
import { abortSubscribers } from '../src/abort.js'
import {
  createUpstreamClient,
  type HedgeEvent,
  InvalidOptionError,
  type UpstreamClientOptions,
} from '../src/index.js'
import { resolveHedge } from '../src/policies/hedge.js'
import { LatencyWindow, LoadWindow } from '../src/policies/hedge-stats.js'
import { closeAfterEach, json, startServer, TestClock } from './helpers.js'

const open = closeAfterEach()

/** Starts a client with hedge events recorded. */
function client(baseUrl: string, options: Partial<UpstreamClientOptions>) {
  const c = createUpstreamClient({ baseUrl, telemetry: false, ...options })
  open.client = c
  const events: HedgeEvent[] = []
  c.onHedge((e) => events.push(e))
  const errors: unknown[] = []
  c.onAttemptError((e) => errors.push(e.error))
  const count = (type: HedgeEvent['type']) => events.filter((e) => e.type === type).length
  return { c, events, errors, count }
}

/** A server that holds every answer until the test releases it. */
async function heldServer() {
  const held: http.ServerResponse[] = []
  const server = await startServer((_req, res) => {
    held.push(res)
  })
  open.server = server
  const releaseAll = () => {
    for (const res of held.splice(0)) if (!res.destroyed) json(res, 200, { ok: true })
  }
  return { server, held, releaseAll }
}

describe('hedge: against every tenth answer taking 200 ms', () => {
  it('hedges the slow answers within maxExtraLoad; losers are aborted, not failures', async () => {
    const server = await startServer((_req, res, n) => {
      if (n % 10 === 0) setTimeout(() => json(res, 200, { n }), 200)
      else json(res, 200, { n })
    })
    open.server = server
    const { c, errors, count } = client(server.origin, {
      hedge: { delayMs: 20, maxExtraLoad: 0.2 },
      // One counted failure would open the circuit: an aborted loser must not count.
      breaker: { failureThreshold: 1, resetTimeoutMs: 60_000 },
    })
    const calls = 100
    for (let batch = 0; batch < calls / 10; batch++) {
      await Promise.all(Array.from({ length: 10 }, () => c.get('/item')))
    }
    const sent = count('sent')
    expect(sent).toBeGreaterThan(0)
    expect(count('won')).toBeGreaterThan(0)
    expect(sent).toBeLessThanOrEqual(0.2 * calls)
    // Each won hedge reached the server; a hedge superseded before it was written may not.
    expect(server.requests).toBeGreaterThanOrEqual(calls + count('won'))
    expect(server.requests).toBeLessThanOrEqual(calls + sent)
    expect(errors).toEqual([])
    expect(c.circuitState).toBe('closed')
  })

  it('sends nothing extra when off, or with hedge: false on the call', async () => {
    const server = await startServer((_req, res, n) => {
      if (n % 10 === 0) setTimeout(() => json(res, 200, { n }), 200)
      else json(res, 200, { n })
    })
    open.server = server
    const { c, count } = client(server.origin, { hedge: { delayMs: 5, maxExtraLoad: 1 } })
    for (let i = 0; i < 30; i++) await c.get('/item', { hedge: false })
    expect(server.requests).toBe(30)
    expect(count('sent')).toBe(0)
  })
})

describe('hedge: which calls', () => {
  it('never hedges a POST without an idempotency key; hedges one with a key', async () => {
    const { server, held, releaseAll } = await heldServer()
    const clock = new TestClock()
    const { c, count } = client(server.origin, {
      clock,
      hedge: { delayMs: 20, maxExtraLoad: 1 },
    })
    const plain = c.post('/add', { a: 1 })
    await vi.waitFor(() => expect(held.length).toBe(1))
    clock.advance(20)
    expect(count('sent')).toBe(0)
    releaseAll()
    await plain
    expect(server.requests).toBe(1)

    const keyed = c.post('/add', { a: 1 }, { idempotencyKey: 'k-1' })
    await vi.waitFor(() => expect(held.length).toBe(1))
    clock.advance(20)
    expect(count('sent')).toBe(1)
    await vi.waitFor(() => expect(held.length).toBe(2))
    releaseAll()
    await keyed
    expect(server.requests).toBe(3)
    expect(server.log[2]?.headers['idempotency-key']).toBe('k-1')
  })

  it('refuses a hedge when the deadline leaves no room', async () => {
    const { server, held, releaseAll } = await heldServer()
    const clock = new TestClock()
    const { c, events } = client(server.origin, {
      clock,
      hedge: { delayMs: 20, maxExtraLoad: 1 },
    })
    const tight = c.get('/a', { deadlineMs: 30 })
    await vi.waitFor(() => expect(held.length).toBe(1))
    clock.advance(20)
    expect(events.map((e) => [e.type, e.reason])).toEqual([['refused', 'deadline']])
    releaseAll()
    await tight
    const roomy = c.get('/a', { deadlineMs: 100 })
    await vi.waitFor(() => expect(held.length).toBe(1))
    clock.advance(20)
    await vi.waitFor(() => expect(held.length).toBe(2))
    releaseAll()
    await roomy
    // Both answers are released together: either may win, so only the first two events are known.
    expect(events.slice(0, 2).map((e) => e.type)).toEqual(['refused', 'sent'])
    expect(server.requests).toBe(3)
  })

  it('refuses a hedge while the operation circuit is not closed', async () => {
    const held: http.ServerResponse[] = []
    const server = await startServer((req, res) => {
      if (req.url === '/a?fail=1') json(res, 503, {})
      else held.push(res)
    })
    open.server = server
    const clock = new TestClock()
    const { c, events } = client(server.origin, {
      clock,
      retry: false,
      breaker: { failureThreshold: 1, resetTimeoutMs: 60_000 },
      hedge: { delayMs: 20, maxExtraLoad: 1 },
    })
    const slow = c.get('/a', { operation: 'a' })
    await vi.waitFor(() => expect(held.length).toBe(1))
    await expect(c.get('/a', { operation: 'a', query: { fail: 1 } })).rejects.toThrow(/503/)
    expect(c.circuitStates()).toEqual({ a: 'open' })
    clock.advance(20)
    expect(events.map((e) => [e.type, e.reason])).toEqual([['refused', 'circuit']])
    json(held[0] as http.ServerResponse, 200, { ok: true })
    await slow
    expect(server.requests).toBe(2)
  })

  it('stops at maxExtraLoad of the calls in the window (Finagle)', async () => {
    const { server, held, releaseAll } = await heldServer()
    const clock = new TestClock()
    const { c, count, events } = client(server.origin, {
      clock,
      hedge: { delayMs: 20, maxExtraLoad: 0.25 },
    })
    const calls = Array.from({ length: 8 }, (_, i) => c.get(`/a/${i}`, { operation: 'a' }))
    await vi.waitFor(() => expect(held.length).toBe(8))
    clock.advance(20)
    expect(count('sent')).toBe(2)
    expect(events.filter((e) => e.reason === 'load')).toHaveLength(6)
    await vi.waitFor(() => expect(held.length).toBe(10))
    releaseAll()
    await Promise.all(calls)
    expect(server.requests).toBe(10)
  })
})

describe('hedge: a try with two attempts', () => {
  it('a failed hedge waits for the first attempt, which still wins; the failure is reported', async () => {
    const held: http.ServerResponse[] = []
    const server = await startServer((_req, res, n) => {
      if (n === 2) json(res, 503, {})
      else held.push(res)
    })
    open.server = server
    const clock = new TestClock()
    const { c, events, errors } = client(server.origin, {
      clock,
      retry: false,
      hedge: { delayMs: 20, maxExtraLoad: 1 },
    })
    const call = c.get('/a')
    await vi.waitFor(() => expect(held.length).toBe(1))
    clock.advance(20)
    await vi.waitFor(() => expect(errors).toHaveLength(1))
    json(held[0] as http.ServerResponse, 200, { first: true })
    expect(await call).toEqual({ first: true })
    expect(events.map((e) => e.type)).toEqual(['sent'])
    expect(server.requests).toBe(2)
  })
})

describe('hedge: attempt signals', () => {
  it('an attempt stops following a long-lived caller signal when it settles', async () => {
    const server = await startServer((_req, res) => json(res, 200, {}))
    open.server = server
    const caller = new AbortController()
    const { c } = client(server.origin, {
      steps: [
        {
          name: 'reads-signal',
          scope: 'attempt',
          run: (attempt, next) => {
            void attempt.signal
            return next()
          },
        },
      ],
    })
    for (let i = 0; i < 50; i++) await c.get('/x', { signal: caller.signal })
    await Promise.resolve()
    expect(abortSubscribers(caller.signal)).toBe(0)
  })
})

describe('hedge: options and statistics', () => {
  it('validates options, quoting the bad value', () => {
    const make = (hedge: unknown) =>
      createUpstreamClient({ baseUrl: 'http://127.0.0.1:1', hedge: hedge as never })
    expect(() => make({ delayMs: -1, maxExtraLoad: 0.1 })).toThrow(InvalidOptionError)
    expect(() => make({ delayMs: 10, maxExtraLoad: 2 })).toThrow(
      'Expected `hedge.maxExtraLoad` to be a number above 0, at most 1, got 2',
    )
    expect(() => make({ maxExtraLoad: 0.1 })).toThrow(/hedge\.delayMs/)
    expect(() => make({ delayMs: 'auto', maxExtraLoad: 0.1, percentile: 1 })).toThrow(
      /hedge\.percentile/,
    )
    expect(() => make({ delayMs: 'auto', maxExtraLoad: 0.1, extra: 1 })).toThrow(/Unknown option/)
    expect(() => make('yes')).toThrow(/hedge/)
    expect(resolveHedge(undefined)).toBe(false)
    expect(resolveHedge({ delayMs: 'auto', maxExtraLoad: 0.05 })).toEqual({
      delayMs: 'auto',
      maxExtraLoad: 0.05,
      percentile: 0.95,
      minSamples: 50,
      fallbackDelayMs: 100,
    })
    const c = createUpstreamClient({ baseUrl: 'http://127.0.0.1:1' })
    return expect(c.get('/a', { hedge: 'no' as never })).rejects.toThrow(
      'Expected `hedge` to be a boolean, got "no"',
    )
  })

  it('the latency window gives the nearest-rank percentile of its last samples', () => {
    const w = new LatencyWindow()
    for (let i = 1; i <= 100; i++) w.record(i)
    expect(w.percentile(0.95)).toBe(95)
    expect(w.percentile(0.5)).toBe(95) // cached until 32 new samples
    for (let i = 0; i < 512; i++) w.record(7)
    expect(w.percentile(0.95)).toBe(7)
  })

  it('the load window slides', () => {
    const clock = new TestClock()
    const w = new LoadWindow(clock, 1_000)
    for (let i = 0; i < 10; i++) w.recordCall()
    expect(w.tryHedge(0.2)).toBe(true)
    expect(w.tryHedge(0.2)).toBe(true)
    expect(w.tryHedge(0.2)).toBe(false)
    clock.advance(1_100)
    expect(w.tryHedge(0.2)).toBe(false)
    for (let i = 0; i < 5; i++) w.recordCall()
    expect(w.tryHedge(0.2)).toBe(true)
  })
})
