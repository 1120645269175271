import { createMockUpstream } from '@userevents/mock-server'
import { describe, expect, it, vi } from 'vitest'
import { createUpstreamClient, InvalidOptionError } from '../src/index.js'
import { closeAfterEach, json, startServer, TestClock } from './helpers.js'

const open = closeAfterEach()

describe('deadline propagation (x-request-timeout-ms)', () => {
  it('sends each attempt its budget: whole ms, never more than the time left before the deadline', async () => {
    const clock = new TestClock()
    open.server = await startServer((_req, res, n) => {
      if (n === 1) json(res, 503, { error: 'busy' })
      else json(res, 200, { ok: true })
    })
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      clock,
      timeoutMs: 2_000,
      deadlineMs: 2_500.7,
      retry: { retries: 1, minDelayMs: 600, jitter: false, budget: false },
      breaker: false,
    })
    const result = open.client.get('/x')
    await vi.waitFor(() => expect(clock.pendingDelays()).toEqual([600]))
    clock.advance(600)
    await expect(result).resolves.toEqual({ ok: true })
    const sent = open.server.log.map((r) => r.headers['x-request-timeout-ms'])
    // Attempt 1: min(timeout 2000, deadline 2500.7) = 2000. Attempt 2, 600 ms later: 1900.7 left.
    expect(sent).toEqual(['2000', '1900'])
  })

  it('uses the per-call deadline and a custom header name; `false` sends nothing', async () => {
    open.server = await startServer((_req, res) => json(res, 200, {}))
    const clock = new TestClock()
    const custom = createUpstreamClient({
      baseUrl: open.server.origin,
      clock,
      deadlineHeader: 'Grpc-Timeout-Ms',
    })
    await custom.get('/a', { deadlineMs: 750 })
    await custom.close()
    open.client = createUpstreamClient({ baseUrl: open.server.origin, deadlineHeader: false })
    await open.client.get('/b')
    const [a, b] = open.server.log
    expect(a?.headers['grpc-timeout-ms']).toBe('750')
    expect(a?.headers['x-request-timeout-ms']).toBeUndefined()
    expect(b?.headers['x-request-timeout-ms']).toBeUndefined()
  })

  it('rejects a bad header name before any request', () => {
    for (const bad of ['', 'has space', 42, true]) {
      expect(() =>
        createUpstreamClient({ baseUrl: 'http://127.0.0.1:1', deadlineHeader: bad as never }),
      ).toThrow(InvalidOptionError)
    }
    expect(() =>
      createUpstreamClient({ baseUrl: 'http://127.0.0.1:1', deadlineHeader: 'a b' }),
    ).toThrow('Expected `deadlineHeader` to be a header name or false, got "a b"')
  })

  it('lets a deadline-aware upstream (the mock in brownout) skip work nobody waits for', async () => {
    const mock = createMockUpstream({
      mode: 'healthy',
      delays: { default: 100 },
      brownout: { latencyFactor: 4, errorRate: 0 },
    })
    const server = await mock.listen()
    const client = createUpstreamClient({ baseUrl: server.url, retry: false, breaker: false })
    try {
      // Four keep-alive connections first, so the calls below do not wait for a connect.
      await Promise.all(['1', '2', '3', '1'].map((id) => client.get(`/getUserById/${id}`)))
      mock.setMode('brownout', { capacity: 1 })
      mock.resetCalls()
      // One call holds the single slot for 400 ms; three more queue behind it with a 100 ms
      // deadline each. They time out at the client, and the upstream answers their turn with a
      // 504 instead of spending 3 × 400 ms on callers that are gone.
      const first = client.get('/getUserById/1')
      await vi.waitFor(() => expect(mock.capacityStats().serving).toBe(1), { interval: 1 })
      const late = await Promise.allSettled(
        ['1', '2', '3'].map((id) => client.get(`/getUserById/${id}`, { deadlineMs: 100 })),
      )
      expect(late.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected'])
      expect(mock.calls('getUserById')).toBe(4)
      await expect(first).resolves.toMatchObject({ id: '1' })
      await vi.waitFor(() => expect(mock.capacityStats().queued).toBe(0))
      expect(mock.capacityStats()).toMatchObject({ served: 1, expired: 3 })
    } finally {
      await client.close()
      await server.close()
    }
  })
})
