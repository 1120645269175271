import { afterEach, describe, expect, it, vi } from 'vitest'
import { startStack, type TestStack } from './helpers.js'

/**
 * The flapping-upstream story over real sockets: the mock on a real port in flapping mode (the
 * original 5-succeed-then-10-fail cycle, delays 0) and the service listening on another. One
 * sequential caller makes the sequence of upstream calls, and so every count, deterministic.
 */
describe('circuit story against the real mock server', () => {
  let stack: TestStack | undefined
  afterEach(async () => {
    await stack?.close()
    stack = undefined
  })

  it('opens after 3 failures, fails fast while open, probes, recovers, and adds every event exactly once', async () => {
    stack = await startStack({
      mock: { mode: 'flapping' },
      config: {
        upstream: { retries: 0 },
        // Scaled down from 30 s / 5 s so the story runs in milliseconds.
        breaker: { failureThreshold: 3, windowMs: 5_000, resetTimeoutMs: 150 },
      },
    })
    const { service, mock } = stack
    const url = await service.listen()
    const transitions: string[] = []
    service.client.onStateChange((e) => transitions.push(`${e.from}->${e.to}`))
    const ramp: string[] = []
    service.client.onRampChange((e) => ramp.push(`${e.phase} ${e.allowedInFlight}/${e.queued}`))

    const events = Array.from({ length: 10 }, (_, i) => `flap-${i + 1}`)
    let fastFails = 0
    let upstreamFailures = 0
    for (const name of events) {
      for (;;) {
        const before = mock.calls('addEvent')
        const res = await fetch(`${url}/addEvent`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': `key-${name}` },
          body: JSON.stringify({ name, userId: '1' }),
        })
        const body = (await res.json()) as { code?: string; retryAfterSeconds?: number }
        if (res.status === 201) break
        expect(res.status).toBe(503)
        expect(res.headers.get('retry-after')).toBe('1')
        expect(body.retryAfterSeconds).toBe(1)
        if (body.code === 'UPSTREAM_CIRCUIT_OPEN') {
          // Failing fast: the upstream did not see this call.
          expect(mock.calls('addEvent')).toBe(before)
          fastFails++
          await vi.waitFor(() => expect(service.client.circuitState).not.toBe('open'), {
            timeout: 5_000,
            interval: 5,
          })
        } else {
          expect(mock.calls('addEvent')).toBe(before + 1)
          upstreamFailures++
        }
      }
    }

    // 5 successes, the 10 failures of the cycle (3 to trip, 7 failed probes), 5 successes.
    expect(mock.calls('addEvent')).toBe(20)
    expect(upstreamFailures).toBe(10)
    expect(fastFails).toBeGreaterThanOrEqual(1)
    expect(transitions[0]).toBe('closed->open')
    expect(transitions.filter((t) => t === 'halfOpen->open')).toHaveLength(7)
    expect(transitions.at(-1)).toBe('halfOpen->closed')
    expect(service.client.circuitState).toBe('closed')
    // The successful probe starts the ramp; the 4 calls after it double the allowance each time
    // (sequential, so nothing queues). 4 successes do not reach the limit of 64.
    expect(ramp).toEqual([
      'started 2/0',
      'widened 4/0',
      'widened 8/0',
      'widened 16/0',
      'widened 32/0',
    ])
    const rampLogs = stack.logs.filter((l) => l.msg === 'upstream circuit ramp changed')
    expect(rampLogs.map((l) => [l.level, l.upstream, l.phase, l.allowedInFlight])).toEqual([
      [30, 'events', 'started', 2],
      [30, 'events', 'widened', 4],
      [30, 'events', 'widened', 8],
      [30, 'events', 'widened', 16],
      [30, 'events', 'widened', 32],
    ])
    const metrics = (await service.app.inject({ method: 'GET', url: '/metrics' })).body
    expect(metrics).toContain('upstream_ramp_allowed_in_flight{upstream="events"} 32\n')

    const stored = mock.store.listEvents().filter((e) => e.name.startsWith('flap-'))
    expect(stored.map((e) => e.name).sort()).toEqual([...events].sort())
  })
})
