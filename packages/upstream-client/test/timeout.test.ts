import { describe, expect, it, vi } from 'vitest'
import {
  createUpstreamClient,
  isUpstreamErrorCode,
  type UpstreamClientOptions,
  type UpstreamTimeoutError,
} from '../src/index.js'
import { closeAfterEach, startServer, TestClock } from './helpers.js'

const open = closeAfterEach()

const hang = () => {
  // the upstream never answers
}

describe('timeouts', () => {
  it('times out a hung attempt after timeoutMs', async () => {
    const clock = new TestClock()
    open.server = await startServer(hang)
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      clock,
      timeoutMs: 500,
      retry: false,
      breaker: false,
    })
    const result = open.client.get('/slow').catch((e: unknown) => e)
    await vi.waitFor(() => expect(open.server?.requests).toBe(1))
    clock.advance(499)
    clock.advance(1)
    const error = (await result) as UpstreamTimeoutError
    expect(isUpstreamErrorCode(error, 'UPSTREAM_TIMEOUT')).toBe(true)
    expect(error.phase).toBe('attempt')
    expect(error.timeoutMs).toBe(500)
  })

  it('cuts the last attempt to the time left before the deadline, then stops', async () => {
    const clock = new TestClock()
    open.server = await startServer(hang)
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      clock,
      timeoutMs: 1_000,
      deadlineMs: 1_500,
      retry: { retries: 5, minDelayMs: 100, jitter: false },
      breaker: false,
    })
    const result = open.client.get('/slow').catch((e: unknown) => e)
    await vi.waitFor(() => expect(open.server?.requests).toBe(1))
    expect(clock.pendingDelays()).toEqual([1_000])
    clock.advance(1_000) // attempt 1: its own timeout
    await vi.waitFor(() => expect(clock.pendingDelays()).toEqual([100]))
    clock.advance(100) // backoff
    // attempt 2 gets min(1000, 1500 - 1100) = 400 ms
    await vi.waitFor(() => expect(clock.pendingDelays()).toEqual([400]))
    await vi.waitFor(() => expect(open.server?.requests).toBe(2))
    clock.advance(400)
    const error = (await result) as UpstreamTimeoutError
    expect(error.code).toBe('UPSTREAM_TIMEOUT')
    expect(error.phase).toBe('deadline')
    expect(error.attempts).toBe(2)
    expect(open.server.requests).toBe(2)
  })

  it('accepts per-call timeoutMs and deadlineMs', async () => {
    const clock = new TestClock()
    open.server = await startServer(hang)
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      clock,
      retry: false,
      breaker: false,
    })
    const result = open.client
      .get('/slow', { timeoutMs: 50, deadlineMs: 40 })
      .catch((e: unknown) => e)
    await vi.waitFor(() => expect(open.server?.requests).toBe(1))
    expect(clock.pendingDelays()).toEqual([40])
    clock.advance(40)
    expect(await result).toMatchObject({ code: 'UPSTREAM_TIMEOUT', phase: 'deadline' })
  })

  it('never hangs the caller on a real hung upstream (real timers)', async () => {
    open.server = await startServer(hang)
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      timeoutMs: 30,
      deadlineMs: 80,
      retry: { minDelayMs: 1, jitter: false },
      breaker: false,
    })
    await expect(open.client.get('/slow')).rejects.toMatchObject({ code: 'UPSTREAM_TIMEOUT' })
  })
})

describe('abort', () => {
  it('aborts an in-flight call through the AbortSignal and does not retry it', async () => {
    open.server = await startServer(hang)
    open.client = createUpstreamClient({ baseUrl: open.server.origin, breaker: false })
    const controller = new AbortController()
    const result = open.client.get('/slow', { signal: controller.signal }).catch((e: unknown) => e)
    await vi.waitFor(() => expect(open.server?.requests).toBe(1))
    controller.abort(new Error('client went away'))
    const error = await result
    expect(isUpstreamErrorCode(error, 'UPSTREAM_ABORTED')).toBe(true)
    expect((error as Error).cause).toEqual(new Error('client went away'))
    expect(open.server.requests).toBe(1)
  })

  it('shares one signal between 50 concurrent calls without a listener-leak warning', async () => {
    open.server = await startServer(hang)
    open.client = createUpstreamClient({ baseUrl: open.server.origin, breaker: false })
    const warnings: string[] = []
    const onWarning = (w: Error) => warnings.push(w.name)
    process.on('warning', onWarning)
    try {
      const controller = new AbortController()
      const calls = Array.from({ length: 50 }, (_, i) =>
        open.client?.get(`/slow/${i}`, { signal: controller.signal }).catch((e: unknown) => e),
      )
      await vi.waitFor(() => expect(open.server?.requests).toBe(50))
      controller.abort()
      for (const e of await Promise.all(calls))
        expect(e).toMatchObject({ code: 'UPSTREAM_ABORTED' })
      await new Promise((r) => setImmediate(r)) // warnings are emitted on the next tick
      expect(warnings).not.toContain('MaxListenersExceededWarning')
    } finally {
      process.off('warning', onWarning)
    }
  })

  it('rejects at once when the signal is already aborted, without a request', async () => {
    open.server = await startServer(hang)
    open.client = createUpstreamClient({ baseUrl: open.server.origin })
    await expect(open.client.get('/x', { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'UPSTREAM_ABORTED',
    })
    expect(open.server.requests).toBe(0)
  })

  it('ends a retry wait when the signal fires', async () => {
    const clock = new TestClock()
    open.server = await startServer((_req, res) => {
      res.writeHead(500).end()
    })
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      clock,
      breaker: false,
      retry: { minDelayMs: 4_000, jitter: false },
    })
    const controller = new AbortController()
    const result = open.client.get('/x', { signal: controller.signal }).catch((e: unknown) => e)
    await vi.waitFor(() => expect(clock.pendingDelays()).toEqual([4_000]))
    controller.abort()
    expect(await result).toMatchObject({ code: 'UPSTREAM_ABORTED', attempts: 1 })
    expect(open.server.requests).toBe(1)
  })
})

describe('no success after the deadline', () => {
  /** An upstream that answers only when the test says so. */
  async function heldServer() {
    const held: (() => void)[] = []
    const server = await startServer((_req, res) => {
      held.push(() => {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end('{"id":1}')
      })
    })
    const release = () => {
      for (const answer of held.splice(0)) answer()
    }
    return { server, release }
  }

  /** A client on the injected clock (no retries, no breaker) in front of a held upstream. */
  async function heldClient(options: Partial<UpstreamClientOptions>) {
    const clock = new TestClock()
    const { server, release } = await heldServer()
    open.server = server
    const client = createUpstreamClient({
      baseUrl: server.origin,
      clock,
      retry: false,
      breaker: false,
      ...options,
    })
    open.client = client
    return { clock, server, release, client }
  }

  // A busy event loop runs the socket's callbacks before the deadline's timer that is already
  // due: the answer arrives with the deadline passed. It must be a timeout, not a late success.
  it('turns an answer that completes after the deadline, before its timer ran, into a timeout', async () => {
    const { clock, server, release, client } = await heldClient({
      deadlineMs: 1_000,
    })
    const late = client.get('/getUserById/1').catch((e: unknown) => e)
    await vi.waitFor(() => expect(server.requests).toBe(1))
    clock.skip(1_000) // the deadline's timer is due but has not run
    release()
    expect(await late).toMatchObject({ code: 'UPSTREAM_TIMEOUT', phase: 'deadline', attempts: 1 })

    const inTime = client.get('/getUserById/1')
    await vi.waitFor(() => expect(server.requests).toBe(2))
    clock.skip(999)
    release()
    expect(await inTime).toEqual({ id: 1 })
  })

  it('treats an attempt that completes after its own timeout the same way', async () => {
    const { clock, server, release, client } = await heldClient({
      timeoutMs: 200,
    })
    const late = client.get('/getUserById/1').catch((e: unknown) => e)
    await vi.waitFor(() => expect(server.requests).toBe(1))
    clock.skip(200)
    release()
    expect(await late).toMatchObject({ code: 'UPSTREAM_TIMEOUT', phase: 'attempt', timeoutMs: 200 })
  })

  it('releases a coalesced caller at its own, shorter deadline', async () => {
    const { clock, server, release, client } = await heldClient({
      cache: { ttlMs: 60_000 },
    })
    const leader = client.get('/getUserById/1', { deadlineMs: 5_000 })
    const follower = client.get('/getUserById/1', { deadlineMs: 100 }).catch((e: unknown) => e)
    await vi.waitFor(() => expect(server.requests).toBe(1))
    clock.advance(100)
    expect(await follower).toMatchObject({
      code: 'UPSTREAM_TIMEOUT',
      phase: 'deadline',
      attempts: 0,
    })
    release()
    expect(await leader).toEqual({ id: 1 })
    expect(server.requests).toBe(1)
  })

  it('gives a coalesced caller whose deadline passed before its timer ran a timeout, not the late answer', async () => {
    const { clock, server, release, client } = await heldClient({
      cache: { ttlMs: 60_000 },
    })
    const leader = client.get('/getUserById/1', { deadlineMs: 5_000 })
    const follower = client.get('/getUserById/1', { deadlineMs: 100 }).catch((e: unknown) => e)
    await vi.waitFor(() => expect(server.requests).toBe(1))
    clock.skip(150)
    release()
    expect(await leader).toEqual({ id: 1 })
    expect(await follower).toMatchObject({ code: 'UPSTREAM_TIMEOUT', phase: 'deadline' })
  })

  it('keeps the late success of a write without an idempotency key (a timeout would invite a resend)', async () => {
    const { clock, server, release, client } = await heldClient({
      deadlineMs: 1_000,
    })
    const write = client.post('/addEvent', { name: 'x' })
    const keyed = client
      .post('/addEvent', { name: 'x' }, { idempotencyKey: 'k-1' })
      .catch((e: unknown) => e)
    await vi.waitFor(() => expect(server.requests).toBe(2))
    clock.skip(1_000)
    release()
    expect(await write).toEqual({ id: 1 })
    expect(await keyed).toMatchObject({ code: 'UPSTREAM_TIMEOUT', phase: 'deadline' })
  })
})
